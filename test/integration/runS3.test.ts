import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, removeTempDirs, spawnCli, tempDir } from '../pipeline/support/pipelineHarness.ts';
import { s3TestPrefix } from '../support/s3TestPrefix.ts';

/**
 * `pseudolabel run --input s3://... --out s3://...` (DESIGN.md section 3, CLI): the embedded runner reads its
 * input from S3 (a key, or the data objects of a prefix, picked as a directory's files are) and writes its output
 * files under the out prefix. The spawned command gets the LocalStack endpoint through the usual AWS environment.
 * Its labels must be those of the same run over local files, byte for byte.
 */

describe('pseudolabel run with s3:// input and output', () => {
  const s3 = s3TestPrefix('test-run-s3');
  const { bucket, prefix, env } = s3;
  /** The same files locally (a directory) and under s3://<bucket>/<prefix>/input/. */
  const files: Record<string, string> = {};

  beforeAll(async () => {
    const lines = (await readFile(join(ROOT, 'examples/digits.csv'), 'utf8')).split('\n');
    const header = lines[0];
    files['digits-a.csv'] = `${[header, ...lines.slice(1, 201)].join('\n')}\n`;
    files['digits-b.csv'] = `${[header, ...lines.slice(201, 401)].join('\n')}\n`;
    // Not data files of the input: options file, hidden file, nested file (each would fail the run if read).
    files['pseudolabel.json'] = JSON.stringify({ neighbors: 3 });
    files['.hidden.csv'] = 'id,label,other\nh1,1,0\n';
    files['nested/more.csv'] = 'id,label,other\nn1,1,0\n';
    await Promise.all(Object.entries(files).map(([name, body]) => s3.put(`${prefix}/input/${name}`, body)));
  });

  afterAll(async () => {
    await s3.removeAll();
    await removeTempDirs();
  });

  /** Writes `files` into a fresh local directory; returns it. */
  async function localInput(): Promise<string> {
    const dir = join(await tempDir(), 'input');
    for (const [name, body] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), body);
    }
    return dir;
  }

  it('labels a prefix as it labels the same directory: labels.csv byte for byte, every output file in S3', async () => {
    // Prepare
    const options = ['--neighbors', '7', '--shards', '3', '--workers', '2'];
    const local = await tempDir();
    const remote = await tempDir();
    const out = `s3://${bucket}/${prefix}/out-dir`;
    // Act
    const fromFiles = await spawnCli(
      ['run', '--input', await localInput(), '--out', join(local, 'out'), ...options],
      local,
      {},
    );
    const fromS3 = await spawnCli(
      ['run', '--input', `s3://${bucket}/${prefix}/input`, '--out', out, ...options],
      remote,
      env,
    );
    // Assess
    expect(fromFiles.code, fromFiles.stderr).toBe(0);
    expect(fromS3.code, fromS3.stderr).toBe(0);
    const written = await s3.keysUnder(`${prefix}/out-dir/`);
    expect(written).toEqual((await readdir(join(local, 'out'))).sort());
    expect(written).toEqual(expect.arrayContaining(['labels.csv', 'report.html', 'report.json']));
    const labels = await s3.bytes(`${prefix}/out-dir/labels.csv`);
    expect(labels.equals(await readFile(join(local, 'out', 'labels.csv')))).toBe(true);
    expect(labels.toString('utf8').trimEnd().split('\n')).toHaveLength(401);
    const report = JSON.parse((await s3.bytes(`${prefix}/out-dir/report.json`)).toString('utf8'));
    expect({ n: report.n, rejected: report.rejected }).toEqual({ n: 400, rejected: 0 });
    expect(fromS3.stderr).toContain(`wrote ${out}`);
  });

  it('reads a single key and writes Parquet labels equal to the local run', async () => {
    // Prepare
    const options = ['--neighbors', '5', '--format', 'parquet', '--workers', '1'];
    const local = await tempDir();
    const remote = await tempDir();
    const file = join(await localInput(), 'digits-a.csv');
    // Act
    const fromFile = await spawnCli(['run', '--input', file, '--out', join(local, 'out'), ...options], local, {});
    const fromS3 = await spawnCli(
      [
        'run',
        '--input',
        `s3://${bucket}/${prefix}/input/digits-a.csv`,
        '--out',
        `s3://${bucket}/${prefix}/out-file/`,
        ...options,
      ],
      remote,
      env,
    );
    // Assess
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromS3.code, fromS3.stderr).toBe(0);
    const written = await s3.keysUnder(`${prefix}/out-file/`);
    expect(written).toEqual((await readdir(join(local, 'out'))).sort());
    const labels = await s3.bytes(`${prefix}/out-file/labels.parquet`);
    expect(labels.equals(await readFile(join(local, 'out', 'labels.parquet')))).toBe(true);
  });

  it('fails with one line naming the s3 URL when the input key or bucket does not exist', async () => {
    // Prepare
    const cwd = await tempDir();
    const missingKey = `s3://${bucket}/${prefix}/nothing-here.csv`;
    const missingBucket = `s3://no-such-bucket-${randomUUID().slice(0, 8)}/data.csv`;
    // Act
    const noKey = await spawnCli(['run', '--input', missingKey, '--out', join(cwd, 'out')], cwd, env);
    const noBucket = await spawnCli(['run', '--input', missingBucket, '--out', join(cwd, 'out')], cwd, env);
    // Assess
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr.trim().split('\n')).toEqual([
      `pseudolabel: cannot read input file ${missingKey}: no such key or prefix`,
    ]);
    expect(noBucket.code).not.toBe(0);
    expect(noBucket.stderr.trim().split('\n')).toEqual([
      `pseudolabel: cannot read input file ${missingBucket}: bucket ${missingBucket.slice(5, -9)} does not exist`,
    ]);
  });

  it('refuses an output bucket that does not exist before running, naming the s3 URL', async () => {
    // Prepare
    const cwd = await tempDir();
    const out = `s3://no-such-bucket-${randomUUID().slice(0, 8)}/out`;
    // Act
    const result = await spawnCli(
      ['run', '--input', `s3://${bucket}/${prefix}/input/digits-a.csv`, '--out', out],
      cwd,
      env,
    );
    // Assess
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toEqual([
      `pseudolabel: cannot write output to ${out}: bucket ${out.slice(5, -4)} does not exist`,
    ]);
  });
});
