import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, removeTempDirs, spawnCli, tempDir } from '../pipeline/support/pipelineHarness.ts';
import { s3TestPrefix } from '../support/s3TestPrefix.ts';

/**
 * Issue 20 on LocalStack: `pseudolabel run --input s3://.../data.csv.gz` reads the compressed object with ranged
 * GETs and inflates it in its one ingest task; labels.csv and rejected.csv equal those of the plain object.
 */

describe('a gzip-compressed input in S3', () => {
  const s3 = s3TestPrefix('test-compressed-s3');
  const { bucket, prefix, env } = s3;

  beforeAll(async () => {
    const lines = (await readFile(join(ROOT, 'examples/digits.csv'), 'utf8')).trimEnd().split('\n').slice(0, 501);
    lines[40] = lines[40].replace(/,[^,]*$/, ',abc'); // a rejected row, by its line
    lines[300] = lines[300].split(',').slice(0, 5).join(',');
    const text = `${lines.join('\n')}\n`;
    await s3.put(`${prefix}/plain/digits.csv`, text);
    await s3.put(`${prefix}/gz/digits.csv.gz`, gzipSync(text));
  });

  afterAll(async () => {
    await s3.removeAll();
    await removeTempDirs();
  });

  it('gives labels.csv and rejected.csv byte-identical to the plain object', async () => {
    // Prepare
    const options = ['--neighbors', '5', '--shards', '3', '--workers', '2'];
    const plainKey = `s3://${bucket}/${prefix}/plain/digits.csv`;
    const gzKey = `s3://${bucket}/${prefix}/gz/digits.csv.gz`;
    // Act
    const plain = await spawnCli(
      ['run', '--input', plainKey, '--out', `s3://${bucket}/${prefix}/out-plain`, ...options],
      await tempDir(),
      env,
    );
    const packed = await spawnCli(
      ['run', '--input', gzKey, '--out', `s3://${bucket}/${prefix}/out-gz`, ...options],
      await tempDir(),
      env,
    );
    // Assess
    expect(plain.code, plain.stderr).toBe(0);
    expect(packed.code, packed.stderr).toBe(0);
    const labels = await s3.text(`${prefix}/out-gz/labels.csv`);
    expect(labels).toBe(await s3.text(`${prefix}/out-plain/labels.csv`));
    expect(labels.trimEnd().split('\n')).toHaveLength(499);
    const rejected = await s3.text(`${prefix}/out-gz/rejected.csv`);
    expect(rejected).toBe((await s3.text(`${prefix}/out-plain/rejected.csv`)).replaceAll(plainKey, gzKey));
    expect(rejected).toContain(`${gzKey},41,`);
  });
});
