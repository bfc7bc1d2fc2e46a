import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Stage, taskMessage } from '../../../lib/pipeline/taskMessage.ts';
import { blobRows, csvText } from '../../pipeline/support/datasets.ts';
import { type RunOutput, removeTempDirs, runPipeline, tempDir } from '../../pipeline/support/pipelineHarness.ts';
import {
  getText,
  listKeys,
  markersOf,
  readRunJson,
  runOutput,
  uniqueDataset,
  uploadDataset,
  waitForRun,
  waitForRunOf,
} from './support/bucketRuns.ts';
import { type PrivateStack, provisionPrivateStack } from './support/privateStack.ts';
import { sendRaw } from './support/queues.ts';
import { sleep, stopAllWorkers, WorkerProcess } from './support/workerProcess.ts';

/**
 * At-least-once delivery on the serverless path (DESIGN.md section 5): a worker killed mid-task and duplicated
 * task messages must not change the result. The data set is big enough that the neighbors stage takes the
 * worker several seconds (SHARDS tasks of roughly half a second), so the tests can act while it runs.
 */
const SHARDS = 12;
const ROWS = 24_000;
const OPTIONS = { neighbors: 7, shards: SHARDS };
/** Two rows that ingest refuses (wrong field count, non-numeric feature), so rejected counts are checked too. */
const BAD_ROWS = 2;

function datasetCsv(): string {
  const lines = csvText(blobRows({ n: ROWS, d: 24, seed: 42 })).split('\n');
  lines.splice(1_000, 0, 'bad-fields,,1,2,3');
  lines.splice(9_000, 0, `bad-number,,abc${',1'.repeat(23)}`);
  return lines.join('\n');
}

/** Polls until `check` holds (returns true), every 50 ms. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('a run on pseudolabel worker under at-least-once delivery', () => {
  let stack: PrivateStack;
  let csv: string;
  let embedded: RunOutput;

  beforeAll(async () => {
    stack = await provisionPrivateStack();
    csv = datasetCsv();
    const dir = await tempDir();
    await writeFile(join(dir, 'blobs.csv'), csv);
    embedded = await runPipeline(join(dir, 'blobs.csv'), OPTIONS);
  });
  afterEach(async () => {
    await stopAllWorkers();
  });
  afterAll(async () => {
    await stack?.destroy();
    await removeTempDirs();
  });

  it('a worker killed (SIGKILL) during the neighbors stage: a new worker completes the run with the same labels', async () => {
    // Prepare
    const first = await WorkerProcess.start(stack.endpoint, stack.workerEnv());
    const dataset = uniqueDataset('killed');
    await uploadDataset(stack.s3, stack.bucket, dataset, { 'blobs.csv': csv }, OPTIONS);
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);
    const neighborsDone = async () => (await markersOf(stack.s3, stack.bucket, runId, 'neighbors')).length;
    await waitFor('the first neighbors task to complete', async () => (await neighborsDone()) >= 1);

    // Act
    await first.stop('SIGKILL');
    const doneWhenKilled = await neighborsDone();
    const statusWhenKilled = (await readRunJson(stack.s3, stack.bucket, runId))?.status;
    await WorkerProcess.start(stack.endpoint, stack.workerEnv());
    const record = await waitForRun(stack.s3, stack.bucket, runId);
    const output = await runOutput(stack.s3, stack.bucket, runId);

    // Assess
    expect(statusWhenKilled).toBe('running');
    expect(doneWhenKilled).toBeLessThan(SHARDS); // killed mid-stage: the new worker had neighbors tasks left
    expect(record.status, record.error).toBe('succeeded');
    expect(output.labels).toBe(embedded.labels);
    expect(output.report!.n).toBe(ROWS);
    expect(output.report!.rejected).toBe(BAD_ROWS);
    expect(await neighborsDone()).toBe(SHARDS);
  });

  it('tasks delivered twice (plan, ingest, collect, neighbors) give the same labels and are counted once', async () => {
    // Prepare
    const worker = await WorkerProcess.start(stack.endpoint, { ...stack.workerEnv(), POWERTOOLS_LOG_LEVEL: 'INFO' });
    const dataset = uniqueDataset('duplicated');
    await uploadDataset(stack.s3, stack.bucket, dataset, { 'blobs.csv': csv }, OPTIONS);
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);
    const { tasks, reduce } = stack.resources.queueUrls;
    const send = (url: string, stage: Stage, shard = 0) =>
      sendRaw(stack.sqs, url, JSON.stringify(taskMessage(runId, stage, 0, shard)));
    const exists = async (key: string) => (await getText(stack.s3, stack.bucket, key)) !== undefined;

    // Act: each duplicate is sent after its original was (the way SQS may deliver a message twice).
    await waitFor('the plan step to be done', () => exists(`runs/${runId}/markers/advanced/plan-0`));
    await send(reduce, 'plan');
    await send(tasks, 'ingest', 0);
    await waitFor('a neighbors task to complete', async () => {
      return (await markersOf(stack.s3, stack.bucket, runId, 'neighbors')).length >= 1;
    });
    await send(reduce, 'collect');
    await send(tasks, 'ingest', 0);
    await send(tasks, 'neighbors', 0);
    const record = await waitForRun(stack.s3, stack.bucket, runId);
    const output = await runOutput(stack.s3, stack.bucket, runId);

    // Assess
    expect(record.status, record.error).toBe('succeeded');
    expect(output.labels).toBe(embedded.labels);
    expect(record.shards).toBe(SHARDS);
    expect(output.report!.n).toBe(ROWS);
    expect(output.report!.rejected).toBe(BAD_ROWS);
    expect(output.rejected!.trimEnd().split('\n')).toHaveLength(1 + BAD_ROWS);
    expect(await markersOf(stack.s3, stack.bucket, runId, 'ingest')).toHaveLength(SHARDS);
    expect(await markersOf(stack.s3, stack.bucket, runId, 'neighbors')).toHaveLength(SHARDS);
    // Each reduce step advanced once: plan, collect, propagate, version (the run publishes a dataset version), finalize.
    expect(await listKeys(stack.s3, stack.bucket, `runs/${runId}/markers/advanced/`)).toHaveLength(5);
    // The duplicated plan and collect reached their reduce steps and were ignored there.
    expect(worker.log.match(/reduce step already done; duplicate ignored/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });
});
