import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOptionsInput } from '../../../lib/pipeline/runOptions.ts';
import { blobRows, csvText } from '../../pipeline/support/datasets.ts';
import {
  comparableReport,
  ROOT,
  removeTempDirs,
  runPipeline,
  tempDir,
} from '../../pipeline/support/pipelineHarness.ts';
import {
  markersOf,
  runOutput,
  runsOfDataset,
  uniqueDataset,
  uploadDataset,
  waitForRun,
  waitForRunOf,
} from './support/bucketRuns.ts';
import { type PrivateStack, provisionPrivateStack } from './support/privateStack.ts';
import { waitUntilDrained } from './support/queues.ts';
import { stopAllWorkers, WorkerProcess } from './support/workerProcess.ts';

/**
 * The serverless path end to end: files dropped under incoming/<dataset>/ with the AWS SDK, the S3 notification,
 * and real `pseudolabel worker` processes running the Lambda handlers against LocalStack. The result must be the
 * embedded run's, byte for byte.
 */
describe('runs started by S3 uploads, run by pseudolabel worker', () => {
  let stack: PrivateStack;

  beforeAll(async () => {
    stack = await provisionPrivateStack();
    await WorkerProcess.start(stack.endpoint, stack.workerEnv());
  });
  afterAll(async () => {
    await stopAllWorkers();
    await stack?.destroy();
    await removeTempDirs();
  });

  /** The first `rows` digits uploaded with `options` as a dataset, and the embedded run of the same file. */
  async function digitsBothWays(rows: number, options: RunOptionsInput) {
    const digits = await readFile(join(ROOT, 'examples/digits.csv'), 'utf8');
    const csv = `${digits
      .split('\n')
      .slice(0, rows + 1)
      .join('\n')}\n`;
    const name = `digits-${rows}.csv`;
    const dir = await tempDir();
    await writeFile(join(dir, name), csv);
    const embedded = await runPipeline(join(dir, name), options);
    const dataset = uniqueDataset('digits');
    await uploadDataset(stack.s3, stack.bucket, dataset, { [name]: csv }, options);
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);
    const record = await waitForRun(stack.s3, stack.bucket, runId);
    return { embedded, runId, record, output: await runOutput(stack.s3, stack.bucket, runId) };
  }

  it('a CSV and its pseudolabel.json give the labels of the embedded run, byte for byte', async () => {
    // Prepare
    const options = { neighbors: 7, shards: 3 };

    // Act
    const { embedded, runId, record, output } = await digitsBothWays(400, options);

    // Assess
    expect(record.status, record.error).toBe('succeeded');
    expect(record.options).toMatchObject(options);
    expect(output.labels).toBe(embedded.labels);
    expect(output.labels!.trimEnd().split('\n')).toHaveLength(401);
    expect(withoutChanges(output.report!)).toEqual(comparableReport(embedded.report));
    // A dropped dataset's run publishes its first version: every row is new against no previous version.
    expect(output.report!.changes).toMatchObject({ added: 400, changedClass: 0 });
    expect(await markersOf(stack.s3, stack.bucket, runId, 'neighbors')).toHaveLength(3);
  });

  it('approximate neighbours (cells tasks, calibrate step) give the labels of the embedded run, byte for byte', async () => {
    // Prepare
    const options = { neighbors: 7, shards: 3, neighborsMode: 'approx' } as const;

    // Act
    const { embedded, runId, record, output } = await digitsBothWays(600, options);

    // Assess
    expect(record.status, record.error).toBe('succeeded');
    expect(record.neighbors?.mode).toBe('approx');
    expect(await markersOf(stack.s3, stack.bucket, runId, 'cells')).toHaveLength(3);
    expect(output.labels).toBe(embedded.labels);
    expect(withoutChanges(output.report!)).toEqual(comparableReport(embedded.report));
  });

  it('five files put at once into one dataset make exactly one run, over all their rows', async () => {
    // Prepare
    const rows = blobRows({ n: 5 * 80, d: 6, seed: 11 });
    const files: Record<string, string> = {};
    for (let f = 0; f < 5; f++) files[`part-${f}.csv`] = csvText(rows.slice(f * 80, (f + 1) * 80));
    const options = { neighbors: 5, shards: 5 };
    const dir = await tempDir();
    await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)));
    const embedded = await runPipeline(dir, options);
    const dataset = uniqueDataset('parts');

    // Act
    await uploadDataset(stack.s3, stack.bucket, dataset, files, options);
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);
    const record = await waitForRun(stack.s3, stack.bucket, runId);
    // Every notification of the burst handled (and any run it started recorded) before counting runs.
    await waitUntilDrained(stack.sqs, [stack.resources.queueUrls.events, stack.resources.queueUrls.reduce]);
    const runs = await runsOfDataset(stack.s3, stack.bucket, dataset);
    const output = await runOutput(stack.s3, stack.bucket, runId);

    // Assess
    expect(record.status, record.error).toBe('succeeded');
    expect(runs.map((run) => run.runId)).toEqual([runId]);
    expect(record.inputs.map((input) => input.key).sort()).toEqual(
      Object.keys(files).map((name) => `incoming/${dataset}/${name}`),
    );
    expect(output.report!.n).toBe(rows.length);
    expect(output.labels).toBe(embedded.labels);
  });
});

/** A dropped dataset's report also says what changed against its previous version (issue 19); an embedded
 * run publishes no version, so the rest is compared. */
function withoutChanges(report: Record<string, unknown>): Record<string, unknown> {
  const { changes: _changes, ...rest } = report;
  return comparableReport(rest);
}
