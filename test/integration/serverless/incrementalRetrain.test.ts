import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../../lib/pipeline/outputs/runReport.ts';
import type { RunRecord } from '../../../lib/pipeline/run/runRecord.ts';
import { blobRows, csvText } from '../../pipeline/support/datasets.ts';
import { parseLabels } from '../../pipeline/support/pipelineHarness.ts';
import { getText, markersOf, putText, uniqueDataset, waitForRun } from './support/bucketRuns.ts';
import type { PrivateStack } from './support/privateStack.ts';
import { provisionRetrainStack, retrainDataset } from './support/retrainStack.ts';
import { stopAllWorkers } from './support/workerProcess.ts';

/**
 * Incremental retraining on LocalStack (`pseudolabel retrain`, runs carried out by `pseudolabel worker`): after
 * one more file is dropped, the retrain run ingests only that file (the others' shards and kNN lists come from the
 * latest version, report.json counts them), carries the latest version's confident labels (source carried), and a
 * correction under confirmed/ overrides a carried label on the next retrain, with nothing ingested at all.
 */

describe('incremental retraining on LocalStack', () => {
  let stack: PrivateStack;
  const dataset = uniqueDataset('incremental');
  const rows = blobRows({ n: 360, d: 4, seed: 33, labelledPerClass: 10 });
  const file = (from: number, to: number) => csvText(rows.slice(from, to));

  /** `pseudolabel retrain`; resolves with the run id it printed. */
  async function retrain(): Promise<string> {
    const run = await retrainDataset(stack, dataset);
    if (run.code !== 0) throw new Error(`retrain exited ${run.code}: ${run.stderr}`);
    return run.stdout;
  }

  const json = async <T>(key: string): Promise<T> => JSON.parse((await getText(stack.s3, stack.bucket, key)) ?? 'null');
  const put = (name: string, text: string) => putText(stack.s3, stack.bucket, `incoming/${dataset}/${name}`, text);
  const labelsOf = async (version: number) =>
    parseLabels((await getText(stack.s3, stack.bucket, `datasets/${dataset}/versions/${version}/labels.csv`)) ?? '');

  beforeAll(async () => {
    stack = await provisionRetrainStack();
    const options = { neighbors: 5, neighborsMode: 'exact', carryForward: true, carryThreshold: 0.9 };
    await put('pseudolabel.json', JSON.stringify(options));
    await put('a.csv', file(0, 150));
    await put('b.csv', file(150, 300));
  });
  afterAll(async () => {
    await stopAllWorkers();
    await stack?.destroy();
  });

  it('one more file: one new version that ingested only it, reused the rest, and carries confident labels', async () => {
    // Prepare: version 1 from a.csv and b.csv, then c.csv dropped
    const first = await waitForRun(stack.s3, stack.bucket, await retrain());
    await put('c.csv', file(300, 360));

    // Act
    const runId = await retrain();
    const record: RunRecord = await waitForRun(stack.s3, stack.bucket, runId);

    // Assess
    expect(first).toMatchObject({ status: 'succeeded', version: 1 });
    expect(record).toMatchObject({ status: 'succeeded', version: 2 });
    const added = record.inputs.find((input) => input.key.endsWith('/c.csv'));
    const ingested = record.incremental?.reused.flatMap((base, s) => (base < 0 ? [s] : []));
    expect(ingested).toEqual(added?.shards);
    const report = await json<RunReport>(`datasets/${dataset}/versions/2/report.json`);
    expect(report.incremental).toMatchObject({
      baseVersion: 1,
      shards: { reused: first.shards, ingested: added?.shards?.length },
      lists: { reused: true, updatedRows: 300, recomputedRows: 60, recomputed: [[300, 360]] },
    });
    const markers = await Promise.all(
      (await markersOf(stack.s3, stack.bucket, runId, 'ingest')).map((key) => json<{ reused?: boolean }>(key)),
    );
    expect(markers.filter((marker) => marker.reused)).toHaveLength(first.shards);
    const labels = await labelsOf(2);
    expect(labels.some((row) => row.source === 'carried')).toBe(true);
    expect(report.changes).toMatchObject({ previousVersion: 1, added: 60, removed: 0 });
  });

  it('a confirmed correction overrides a carried label; nothing is ingested again', async () => {
    // Prepare: a correction of a row version 2 carried, to another class
    const carried = (await labelsOf(2)).find((row) => row.source === 'carried')!;
    const other = ['cat', 'dog', 'owl'].find((label) => label !== carried.label)!;
    await put('confirmed/fix.csv', `id,label\n${carried.id},${other}\n`);

    // Act
    const record = await waitForRun(stack.s3, stack.bucket, await retrain());

    // Assess
    expect(record).toMatchObject({ status: 'succeeded', version: 3 });
    const report = await json<RunReport>(`datasets/${dataset}/versions/3/report.json`);
    expect(report.incremental?.shards).toEqual({ reused: record.shards, ingested: 0 });
    const row = (await labelsOf(3)).find((label) => label.id === carried.id);
    expect(row).toMatchObject({ label: other, source: 'confirmed' });
  });
});
