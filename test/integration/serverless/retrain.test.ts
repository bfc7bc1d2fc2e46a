import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LatestVersion, VersionRecord } from '../../../lib/pipeline/datasets/datasetVersions.ts';
import type { RunReport } from '../../../lib/pipeline/outputs/runReport.ts';
import { blobRows, csvText } from '../../pipeline/support/datasets.ts';
import { spawnCli } from '../../pipeline/support/pipelineHarness.ts';
import { getText, putText, runsOfDataset, uniqueDataset, waitForRun } from './support/bucketRuns.ts';
import type { PrivateStack } from './support/privateStack.ts';
import { cliEnv, provisionRetrainStack, retrainDataset } from './support/retrainStack.ts';
import { stopAllWorkers } from './support/workerProcess.ts';

/**
 * `pseudolabel retrain <dataset> --store s3://bucket` on LocalStack, runs carried out by `pseudolabel worker`: each
 * retrain over changed files publishes one new dataset version; with nothing changed it starts no run; two
 * invocations over the same files start one run; two retrains over successive changes publish two versions.
 * The bucket's notifications are removed, so only `retrain` starts runs here.
 */

describe('pseudolabel retrain on LocalStack', () => {
  let stack: PrivateStack;
  const dataset = uniqueDataset('retrain');
  const rows = blobRows({ n: 400, d: 4, seed: 21 });
  const file = (from: number, to: number) => csvText(rows.slice(from, to));

  const retrain = () => retrainDataset(stack, dataset);
  const json = async <T>(key: string): Promise<T> => JSON.parse((await getText(stack.s3, stack.bucket, key)) ?? 'null');
  const latest = () => json<LatestVersion>(`datasets/${dataset}/latest.json`);
  const put = (name: string, text: string) => putText(stack.s3, stack.bucket, `incoming/${dataset}/${name}`, text);

  beforeAll(async () => {
    stack = await provisionRetrainStack();
    await put('pseudolabel.json', JSON.stringify({ neighbors: 5, neighborsMode: 'exact', retrain: 'daily' }));
    await put('a.csv', file(0, 200));
  });
  afterAll(async () => {
    await stopAllWorkers();
    await stack?.destroy();
  });

  it('publishes version 1, then with nothing changed starts no run', async () => {
    // Act
    const first = await retrain();
    const record = await waitForRun(stack.s3, stack.bucket, first.stdout);
    const again = await retrain();

    // Assess
    expect(first.code).toBe(0);
    expect(record).toMatchObject({ status: 'succeeded', version: 1 });
    expect(await latest()).toMatchObject({ version: 1, runId: first.stdout });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`nothing changed in dataset ${dataset} since version 1`);
    expect(again.stdout).toBe('');
    expect(await runsOfDataset(stack.s3, stack.bucket, dataset)).toHaveLength(1);
  });

  it('one more file: one new version whose report counts the added rows; a repeated invocation is the same run', async () => {
    // Prepare
    await put('b.csv', file(200, 280));

    // Act
    const [one, two] = await Promise.all([retrain(), retrain()]);
    const record = await waitForRun(stack.s3, stack.bucket, one.stdout);

    // Assess
    expect(one.stdout).toBe(two.stdout);
    expect(record).toMatchObject({ status: 'succeeded', version: 2 });
    expect(await runsOfDataset(stack.s3, stack.bucket, dataset)).toHaveLength(2);
    const version = await json<VersionRecord>(`datasets/${dataset}/versions/2/version.json`);
    expect(version.inputs.map((input) => input.key).sort()).toEqual([
      `incoming/${dataset}/a.csv`,
      `incoming/${dataset}/b.csv`,
    ]);
    const report = await json<RunReport>(`datasets/${dataset}/versions/2/report.json`);
    expect(report.changes).toMatchObject({ previousVersion: 1, added: 80, removed: 0, rows: 280 });
    expect(await getText(stack.s3, stack.bucket, `datasets/${dataset}/versions/2/labels.csv`)).toBe(
      await getText(stack.s3, stack.bucket, `runs/${one.stdout}/output/labels.csv`),
    );
  });

  it('predict reads a version on the bucket: by its directory and by the dataset directory, the same labels', async () => {
    // Prepare: 20 new rows, unlabelled, in a local file
    const dir = await mkdtemp(join(tmpdir(), 'predict-s3-'));
    const input = join(dir, 'new.csv');
    await writeFile(input, csvText(blobRows({ n: 20, d: 4, seed: 99 }).map((row) => ({ ...row, label: null }))));
    const predict = (model: string, out: string) =>
      spawnCli(['predict', '--model', model, '--input', input, '--out', join(dir, out)], dir, cliEnv(stack));

    // Act
    const byVersion = await predict(`s3://${stack.bucket}/datasets/${dataset}/versions/2`, 'v');
    const byDataset = await predict(`s3://${stack.bucket}/datasets/${dataset}/`, 'd');

    // Assess
    expect(byVersion.code, byVersion.stderr).toBe(0);
    expect(byDataset.code, byDataset.stderr).toBe(0);
    const labels = await readFile(join(dir, 'v/labels.csv'), 'utf8');
    expect(labels.trimEnd().split('\n')).toHaveLength(21);
    expect(labels).toContain(',predicted');
    expect(await readFile(join(dir, 'd/labels.csv'), 'utf8')).toBe(labels);
    await rm(dir, { recursive: true, force: true });
  });

  it('two retrains over successive changes, both in flight, publish two distinct versions', async () => {
    // Prepare
    await put('c.csv', file(280, 340));
    const first = await retrain();
    await put('d.csv', file(340, 400));

    // Act
    const second = await retrain();
    const records = await Promise.all(
      [first.stdout, second.stdout].map((runId) => waitForRun(stack.s3, stack.bucket, runId)),
    );

    // Assess
    expect(first.stdout).not.toBe(second.stdout);
    expect(records.map((record) => record.status)).toEqual(['succeeded', 'succeeded']);
    expect(records.map((record) => record.version).sort()).toEqual([3, 4]);
    expect(await latest()).toMatchObject({ version: 4 });
    for (const record of records) {
      expect(await json<VersionRecord>(`datasets/${dataset}/versions/${record.version}/version.json`)).toMatchObject({
        runId: record.runId,
      });
    }
  });
});
