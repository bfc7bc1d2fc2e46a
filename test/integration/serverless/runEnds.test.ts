import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../lib/adapters/s3ObjectStore.ts';
import { SqsTaskQueue } from '../../../lib/adapters/sqsTaskQueue.ts';
import { keys } from '../../../lib/pipeline/keys.ts';
import { startRun } from '../../../lib/pipeline/run/startRun.ts';
import { parseRunOptions } from '../../../lib/pipeline/runOptions.ts';
import { silentLog } from '../../../lib/pipeline/stageContext.ts';
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
import { sendRaw, waitUntilDrained } from './support/queues.ts';
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
    // It was the dead letter that ended it (the error above), not the run's deadline (set by its plan step).
    expect(record.deadline).toBeDefined();
    expect(first.alive).toBe(false);
    expect(starts).toBeGreaterThanOrEqual(stack.config.maxReceiveCount);
    // Drained, not at once: a killed worker's open long poll can take the dead letter in flight for its visibility
    // timeout (30 s) before a live consumer deletes it.
    await waitUntilDrained(stack.sqs, [stack.resources.deadLetterQueueUrls.reduce], 60_000);
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
    // Not the DLQ's depth: the previous test's killed workers may hold its dead letters in flight, and an open long
    // poll of theirs may take this message in flight for the DLQ's visibility timeout (30 s) before this worker does.
    await worker.waitForLog('dead letter is not a task message; dropped', 60_000);

    // Assess
    expect(record.status).toBe('failed');
    expect(record.stage).toBe('ingest');
    expect(record.error).toMatch(/^task ingest shard 4 was dead-lettered/);
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

  it('a task that fails retryably comes back after its back-off, not after the visibility timeout', async () => {
    // Prepare: queues whose visibility timeout (10 minutes) is far past this test's time, so only the back-off
    // (1 s) can deliver the task again; a running run that was never collected, so its neighbors task fails
    // (collect.json is missing).
    const slow = await provisionPrivateStack(600);
    try {
      const runId = `${uniqueDataset('backoff')}-run`;
      await putText(slow.s3, slow.bucket, `runs/${runId}/run.json`, runJsonText(runId, 'neighbors'));
      const worker = await WorkerProcess.start(slow.endpoint, { ...slow.workerEnv(), PSEUDOLABEL_RETRY_DELAYS: '1' });
      const failures = () => logLines(worker.log).filter((line) => line.message === BACK_OFF_LINE);

      // Act: the task fails, and waits (a generous 45 s: far less than the visibility timeout) for its redelivery
      await sendRaw(slow.sqs, slow.resources.queueUrls.tasks, JSON.stringify(taskMessage(runId, 'neighbors', 0, 0)));
      await waitForCondition('the redelivery of the backed-off task', () => failures().length >= 2, 45_000);

      // Assess: received again (receive 2) after the 1 s back-off; the run is not failed before its last receive
      expect(
        failures()
          .slice(0, 2)
          .map((line) => [line.receives, line.delaySeconds]),
      ).toEqual([
        [1, 1],
        [2, 1],
      ]);
    } finally {
      await stopAllWorkers();
      await slow.destroy();
    }
  });

  it('a reduce step claimed by another delivery is not computed twice; the retry takes it over once expired', async () => {
    // Prepare: a run started as the handlers start one, with its plan step already claimed by "another
    // delivery" that dies (its claim expires in 4 s, unrenewed); the worker retries after 6 s.
    const dataset = uniqueDataset('claimed');
    const csv = csvText(blobRows({ n: 120, d: 3, seed: 31 }));
    await putText(stack.s3, stack.bucket, `data/${dataset}/blobs.csv`, csv);
    const store = new S3ObjectStore({ bucket: stack.bucket, client: stack.s3 });
    const info = (await store.head(`data/${dataset}/blobs.csv`))!;
    const runId = `${dataset}-run`;
    const ctx = {
      store,
      inputs: () => store,
      tasks: new SqsTaskQueue({ queue: stack.resources.queueUrls.tasks, client: stack.sqs }),
      reduce: new SqsTaskQueue({ queue: stack.resources.queueUrls.reduce, client: stack.sqs }),
      log: silentLog,
    };
    const worker = await WorkerProcess.start(stack.endpoint, { ...stack.workerEnv(), PSEUDOLABEL_RETRY_DELAYS: '6' });
    const expiresAt = new Date(Date.now() + 4_000).toISOString();
    await store.put(
      keys.claim(runId, 'plan', 0, 0),
      JSON.stringify({ claimedAt: new Date().toISOString(), expiresAt }),
    );

    // Act
    await startRun(ctx, {
      runId,
      dataset,
      inputRoot: `s3://${stack.bucket}/data/${dataset}`,
      inputs: [{ key: 'blobs.csv', size: info.size, etag: info.etag }],
      options: parseRunOptions({ neighbors: 5 }),
    });
    const record = await waitForRun(stack.s3, stack.bucket, runId, 60_000);

    // Assess
    const refused = logLines(worker.log).filter((line) => line.message === BACK_OFF_LINE);
    expect(refused.map((line) => line.error)).toEqual([
      `reduce step plan round 0 is being computed by another delivery (its claim expires at ${expiresAt})`,
    ]);
    expect(record.status, record.error).toBe('succeeded');
    const claims = await listKeys(stack.s3, stack.bucket, keys.claims(runId, 'plan', 0));
    expect(claims.map((key) => key.split('/').at(-1))).toEqual(['00000', '00001']);
  });

  it('an upload with invalid options records a failed run that status shows, and emits the alarm metric', async () => {
    // Prepare
    const dataset = uniqueDataset('bad-options');
    // The worker writes its metrics (EMF lines on stdout) only when asked: POWERTOOLS_METRICS_DISABLED=false.
    const worker = await WorkerProcess.start(stack.endpoint, {
      ...stack.workerEnv(),
      POWERTOOLS_METRICS_DISABLED: 'false',
    });
    const cwd = await tempDir();
    const awsEnv = { AWS_ENDPOINT_URL: stack.endpoint, AWS_REGION: stack.region };

    // Act
    const csv = csvText(blobRows({ n: 30, d: 3, seed: 5 }));
    await uploadDataset(stack.s3, stack.bucket, dataset, { 'blobs.csv': csv }, { alpha: 3, method: 'magic' });
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);
    const status = new LiveCli(['status', runId, '--store', `s3://${stack.bucket}`], cwd, awsEnv);
    const statusCode = await status.exited;

    // Assess
    const record = await readRunJson(stack.s3, stack.bucket, runId);
    expect({ dataset: record?.dataset, status: record?.status }).toEqual({ dataset, status: 'failed' });
    expect(record?.error).toMatch(new RegExp(`^invalid incoming/${dataset}/pseudolabel\\.json: method: .*; alpha: `));
    expect(statusCode).toBe(2);
    expect(status.stderrLines.join('\n')).toContain(`invalid incoming/${dataset}/pseudolabel.json`);
    const metric = logLines(worker.log).find((line) => line.InvalidOptions === 1);
    expect(metric).toMatchObject({ service: 'pseudolabel-on-object-created', dataset });
    const ended = logLines(worker.log).find((line) => line.RunsEnded === 1 && line.runId === runId);
    expect(ended).toMatchObject({ service: 'pseudolabel-runs', status: 'failed', dataset });
  });
});
const BACK_OFF_LINE = 'task failed; it will be delivered again after its back-off';

/** Polls until `check` holds, every 100 ms; fails naming `what` after `timeoutMs`. */
async function waitForCondition(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A run.json of a running run at `stage` that nothing moves on. */
function runJsonText(runId: string, stage: string): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    runId,
    dataset: 'hand-made',
    inputRoot: 's3://nowhere',
    inputs: [],
    options: {},
    status: 'running',
    stage,
    round: 0,
    shards: 1,
    createdAt: now,
    updatedAt: now,
    timings: {},
  });
}

/** The worker's JSON log lines (Powertools), parsed. */
function logLines(log: string): Record<string, unknown>[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
