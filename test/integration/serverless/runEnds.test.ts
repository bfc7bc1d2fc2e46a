import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { taskMessage } from '../../../lib/pipeline/taskMessage.ts';
import { removeTempDirs, tempDir } from '../../cli/cliHarness.ts';
import { LiveCli } from '../../cli/statusProcess.ts';
import { blobRows, csvText } from '../../pipeline/support/datasets.ts';
import {
  listKeys,
  markersOf,
  putText,
  readRunJson,
  uniqueDataset,
  uploadDataset,
  waitForRun,
  waitForRunOf,
} from './support/bucketRuns.ts';
import { type PrivateStack, provisionPrivateStack } from './support/privateStack.ts';
import { queueDepth, sendRaw, waitUntilDrained } from './support/queues.ts';
import { sleep, stopAllWorkers, WorkerProcess } from './support/workerProcess.ts';

/**
 * Every run ends (DESIGN.md section 5): a task whose worker process dies on every receive reaches its
 * dead-letter queue without any handler seeing its last receive; the dead-letter consumer of `pseudolabel worker`
 * (as the Lambda on each DLQ) marks the run failed with the stage named.
 */
describe('a run whose task kills its worker on every receive', () => {
  let stack: PrivateStack;

  beforeAll(async () => {
    stack = await provisionPrivateStack();
  });
  afterEach(async () => {
    await stopAllWorkers();
  });
  afterAll(async () => {
    await stack?.destroy();
    await removeTempDirs();
  });

  /** Starts a worker again whenever the last one died, until the run has ended; returns the restarts. */
  async function keepWorkersUntilEnded(runId: string, env: NodeJS.ProcessEnv, timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    let worker: WorkerProcess | undefined;
    let starts = 0;
    for (;;) {
      const record = await readRunJson(stack.s3, stack.bucket, runId);
      if (record && record.status !== 'running') return { record, starts };
      if (Date.now() > deadline) throw new Error(`run ${runId} still running after ${timeoutMs} ms`);
      if (!worker?.alive) {
        starts++;
        // A worker may die before it says it consumes (it received the fatal task at once): start another.
        worker = await WorkerProcess.start(stack.endpoint, env).catch(() => undefined);
      }
      await sleep(200);
    }
  }

  it('is dead-lettered, and the run fails with the stage named', async () => {
    // Prepare
    const dataset = uniqueDataset('killed-collect');
    const csv = csvText(blobRows({ n: 200, d: 4, seed: 17 }));
    const env = { ...stack.workerEnv(), PSEUDOLABEL_FAULT_KILL_STAGE: 'collect' };
    await uploadDataset(stack.s3, stack.bucket, dataset, { 'blobs.csv': csv }, { neighbors: 5, shards: 2 });
    const first = await WorkerProcess.start(stack.endpoint, env);
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);

    // Act
    const { record, starts } = await keepWorkersUntilEnded(runId, env);

    // Assess
    expect(record.status).toBe('failed');
    expect(record.stage).toBe('collect');
    expect(record.error).toMatch(/^task collect shard 0 was dead-lettered: it did not complete/);
    expect(record.finishedAt).toBeDefined();
    expect(first.alive).toBe(false);
    expect(starts).toBeGreaterThanOrEqual(stack.config.maxReceiveCount);
    expect(await queueDepth(stack.sqs, stack.resources.deadLetterQueueUrls.reduce)).toBe(0);
  });

  it('a task message put in the tasks DLQ fails its running run; a message that is none is dropped', async () => {
    // Prepare: a running run that nothing moves on (its run.json only), and a worker serving the stack.
    const runId = `${uniqueDataset('dead-letter')}-run`;
    const now = new Date().toISOString();
    const running = { runId, dataset: 'dead-letter', inputRoot: `s3://${stack.bucket}`, inputs: [], status: 'running' };
    await putText(
      stack.s3,
      stack.bucket,
      `runs/${runId}/run.json`,
      JSON.stringify({
        ...running,
        options: {},
        stage: 'ingest',
        round: 0,
        shards: 8,
        createdAt: now,
        updatedAt: now,
        timings: {},
      }),
    );
    const worker = await WorkerProcess.start(stack.endpoint, stack.workerEnv());
    const dlq = stack.resources.deadLetterQueueUrls.tasks;

    // Act
    await sendRaw(stack.sqs, dlq, 'not a task message');
    await sendRaw(stack.sqs, dlq, JSON.stringify(taskMessage(runId, 'ingest', 0, 4)));
    const record = await waitForRun(stack.s3, stack.bucket, runId, 30_000);
    await waitUntilDrained(stack.sqs, [dlq]);

    // Assess
    expect(record.status).toBe('failed');
    expect(record.stage).toBe('ingest');
    expect(record.error).toMatch(/^task ingest shard 4 was dead-lettered/);
    expect(worker.log).toContain('dead letter is not a task message; dropped');
    expect(worker.alive).toBe(true);
  });

  it('pseudolabel cancel --store s3://bucket: queued tasks are ignored and nothing more is sent', async () => {
    // Prepare: the plan has sent the ingest tasks; the worker died on the first of them.
    const dataset = uniqueDataset('cancelled');
    const csv = csvText(blobRows({ n: 400, d: 4, seed: 23 }));
    await uploadDataset(stack.s3, stack.bucket, dataset, { 'blobs.csv': csv }, { neighbors: 5, shards: 4 });
    const killEnv = { ...stack.workerEnv(), PSEUDOLABEL_FAULT_KILL_STAGE: 'ingest' };
    const holder = await WorkerProcess.start(stack.endpoint, killEnv);
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);
    await holder.exit();
    const cwd = await tempDir();
    const awsEnv = { AWS_ENDPOINT_URL: stack.endpoint, AWS_REGION: stack.region };

    // Act
    const cancel = new LiveCli(['cancel', runId, '--store', `s3://${stack.bucket}`], cwd, awsEnv);
    const cancelCode = await cancel.exited;
    const worker = await WorkerProcess.start(stack.endpoint, { ...stack.workerEnv(), POWERTOOLS_LOG_LEVEL: 'INFO' });
    await waitUntilDrained(stack.sqs, [stack.resources.queueUrls.tasks, stack.resources.queueUrls.reduce], 60_000);
    const status = new LiveCli(['status', runId, '--store', `s3://${stack.bucket}`], cwd, awsEnv);
    const statusCode = await status.exited;
    const record = await readRunJson(stack.s3, stack.bucket, runId);

    // Assess
    expect(cancelCode, cancel.stderrLines.join('\n')).toBe(0);
    expect({ status: record?.status, error: record?.error }).toEqual({
      status: 'cancelled',
      error: 'cancelled by pseudolabel cancel',
    });
    expect(statusCode).toBe(3);
    expect(await markersOf(stack.s3, stack.bucket, runId, 'ingest')).toEqual([]);
    expect(await listKeys(stack.s3, stack.bucket, `runs/${runId}/output/`)).toEqual([]);
    expect(worker.log).toContain('run has ended; task ignored');
  });
});
