import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEmbedded } from '../../../lib/hosts/embedded/embeddedRunner.ts';
import { parseRunOptions } from '../../../lib/pipeline/runOptions.ts';
import { blobRows, csvText } from '../../pipeline/support/datasets.ts';
import { spawnCli } from '../../pipeline/support/pipelineHarness.ts';
import { type PrivateStack, provisionPrivateStack } from './support/privateStack.ts';
import { cliEnv } from './support/retrainStack.ts';

/**
 * `pseudolabel predict --model s3://...` of a version whose lists were approximate: it searches through the
 * version's IVF index on the bucket (its cells objects read with ranged GETs), with the labels the same version
 * gives from disk.
 */

describe('pseudolabel predict from a version on LocalStack', () => {
  let stack: PrivateStack;
  let dir = '';

  beforeAll(async () => {
    stack = await provisionPrivateStack();
    dir = await mkdtemp(join(tmpdir(), 'predict-s3-'));
  });
  afterAll(async () => {
    await stack?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("searches through the version's IVF index on the bucket, as from disk", async () => {
    // Prepare: a version of 3,000 rows with approximate lists, made on disk and copied to the bucket
    const stateDir = join(dir, 'state');
    const rows = blobRows({ n: 3300, d: 4, seed: 5 });
    const train = join(dir, 'train.csv');
    const fresh = join(dir, 'new.csv');
    await writeFile(train, csvText(rows.slice(0, 3000)));
    await writeFile(fresh, csvText(rows.slice(3000).map((row) => ({ ...row, label: null }))));
    const options = parseRunOptions({ neighborsMode: 'approx', workers: 1, neighbors: 7, shards: 2 });
    await runEmbedded({ input: train, out: join(dir, 'out'), stateDir, options, dataset: 'ivf' });
    const local = join(stateDir, 'datasets/ivf');
    for (const entry of await readdir(local, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const key = `datasets/ivf/${path.slice(local.length + 1)}`;
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: await readFile(path) }));
    }
    const predict = (model: string, out: string) =>
      spawnCli(['predict', '--model', model, '--input', fresh, '--out', join(dir, out)], dir, cliEnv(stack));

    // Act
    const fromBucket = await predict(`s3://${stack.bucket}/datasets/ivf/versions/1`, 'bucket');
    const fromDisk = await predict(join(local, 'versions/1'), 'disk');

    // Assess
    for (const run of [fromBucket, fromDisk]) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/predicted \d+ of 300 rows .*\(its IVF index, nprobe \d+\)/);
    }
    const labels = await readFile(join(dir, 'bucket/labels.csv'), 'utf8');
    expect(labels).toBe(await readFile(join(dir, 'disk/labels.csv'), 'utf8'));
  });
});
