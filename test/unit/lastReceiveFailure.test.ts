import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../lib/adapters/errors.ts';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { InProcessQueue } from '../../lib/adapters/inProcessQueue.ts';
import type { ObjectStore } from '../../lib/adapters/objectStore.ts';
import { sqsEventOf } from '../../lib/adapters/sqsEventSource.ts';
import type { HandlerRuntime } from '../../lib/hosts/serverless/runtime.ts';
import { serverlessSettings } from '../../lib/hosts/serverless/serverlessContext.ts';
import { handleTaskBatch, receiveCountOf } from '../../lib/hosts/serverless/taskBatch.ts';
import { markRunFailed, readRun } from '../../lib/pipeline/run/runRecord.ts';
import { startRun } from '../../lib/pipeline/run/startRun.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { taskMessage } from '../../lib/pipeline/taskMessage.ts';
import { sqsEvent } from '../support/sqsEvents.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

/**
 * A task that fails on every delivery ends in the DLQ after maxReceiveCount receives; the handlers (worker,
 * reducer: handleTaskBatch) mark its run failed on the last receive, so the run does not stay "running" forever,
 * and still report the batch item failure so SQS moves the message on.
 */

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** An input store whose every read fails as a broken disk or network would: a transient error, not a run failure. */
function brokenInputs(): ObjectStore {
  const fail = async (): Promise<never> => {
    throw new StoreUnavailableError('s3://inputs/data.csv', new Error('connection reset'));
  };
  return {
    describe: (key) => `s3://inputs/${key}`,
    get: fail,
    getRange: fail,
    head: fail,
    exists: fail,
    put: fail,
    putIfAbsent: fail,
    putIfMatch: fail,
    concatenate: fail,
    list: fail,
    delete: fail,
  } as ObjectStore;
}

/** A handler runtime over a filesystem store (run state) whose inputs cannot be read; a running run at stage plan. */
async function runtimeWithRun(maxReceiveCount = 3) {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-last-receive-'));
  roots.push(root);
  const store = new FilesystemObjectStore(root);
  const reduce = new InProcessQueue();
  const ctx = filesystemStageContext(store, { inputs: brokenInputs, reduce });
  const runtime: HandlerRuntime = {
    settings: {
      bucket: 'pseudolabel-data',
      tasksQueueUrl: 'tasks',
      reduceQueueUrl: 'reduce',
      maxReceiveCount,
      retryDelaysSeconds: [30, 120, 600],
    },
    clients: { s3: {} as S3Client, sqs: {} as SQSClient },
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    ctx,
  };
  const run = await startRun(ctx, {
    dataset: 'broken',
    inputRoot: 's3://inputs',
    inputs: [{ key: 'data.csv', size: 100, etag: 'e' }],
    options: parseRunOptions({}),
  });
  return { runtime, store, runId: run.runId };
}

describe('a task failing on its last allowed receive', () => {
  it('marks the run failed with the stage and reason, and still reports the batch item failure', async () => {
    // Prepare
    const { runtime, store, runId } = await runtimeWithRun();
    // Act
    const response = await handleTaskBatch(
      runtime,
      undefined,
      sqsEvent([{ body: taskMessage(runId, 'plan'), receives: 3 }], 'pseudolabel-reduce'),
      {} as Context,
    );
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }]);
    const record = await readRun(store, runId);
    expect({ status: record.status, stage: record.stage, error: record.error }).toEqual({
      status: 'failed',
      stage: 'plan',
      error: 'task plan shard 0 failed 3 times: object store unavailable at s3://inputs/data.csv: connection reset',
    });
    expect(record.finishedAt).toBeDefined();
  });

  it('leaves the run running on an earlier receive (SQS will deliver the message again)', async () => {
    // Prepare
    const { runtime, store, runId } = await runtimeWithRun();
    // Act
    const response = await handleTaskBatch(
      runtime,
      undefined,
      sqsEvent([{ body: taskMessage(runId, 'plan'), receives: 2 }], 'pseudolabel-reduce'),
      {} as Context,
    );
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }]);
    const record = await readRun(store, runId);
    expect(record.status).toBe('running');
    expect(record.error).toBeUndefined();
  });

  it('follows the configured maxReceiveCount', async () => {
    // Prepare
    const { runtime, store, runId } = await runtimeWithRun(5);
    // Act
    await handleTaskBatch(
      runtime,
      undefined,
      sqsEvent([{ body: taskMessage(runId, 'ingest', 0, 2), receives: 3 }], 'pseudolabel-reduce'),
      {} as Context,
    );
    const before = (await readRun(store, runId)).status;
    await handleTaskBatch(
      runtime,
      undefined,
      sqsEvent([{ body: taskMessage(runId, 'ingest', 0, 2), receives: 5 }], 'pseudolabel-reduce'),
      {} as Context,
    );
    // Assess
    const record = await readRun(store, runId);
    expect(before).toBe('running');
    expect(record.status).toBe('failed');
    expect(record.stage).toBe('ingest');
    expect(record.error).toMatch(/^task ingest shard 2 failed 5 times: /);
  });
});

describe('markRunFailed', () => {
  it('keeps the first reason of a run that has already ended', async () => {
    // Prepare
    const { store, runId } = await runtimeWithRun();
    await markRunFailed(store, runId, { stage: 'neighbors', error: 'first' });
    // Act
    const record = await markRunFailed(store, runId, { stage: 'score', error: 'second' });
    // Assess
    expect({ status: record.status, stage: record.stage, error: record.error }).toEqual({
      status: 'failed',
      stage: 'neighbors',
      error: 'first',
    });
    expect((await readRun(store, runId)).error).toBe('first');
  });
});

describe('receive count and max receive count', () => {
  it('reads ApproximateReceiveCount, 1 when absent', () => {
    // Act
    const counts = [
      receiveCountOf(sqsEvent([{ body: {}, receives: 4 }], 'pseudolabel-reduce').Records[0]),
      receiveCountOf({
        ...sqsEvent([{ body: {}, receives: 1 }], 'pseudolabel-reduce').Records[0],
        attributes: {} as never,
      }),
    ];
    // Assess
    expect(counts).toEqual([4, 1]);
  });

  it('takes PSEUDOLABEL_MAX_RECEIVE_COUNT from the environment, default 3, and refuses a bad value', () => {
    // Prepare
    const env = { PSEUDOLABEL_BUCKET: 'b', PSEUDOLABEL_TASKS_QUEUE_URL: 't', PSEUDOLABEL_REDUCE_QUEUE_URL: 'r' };
    // Act
    const byDefault = serverlessSettings(env).maxReceiveCount;
    const set = serverlessSettings({ ...env, PSEUDOLABEL_MAX_RECEIVE_COUNT: '5' }).maxReceiveCount;
    const bad = () => serverlessSettings({ ...env, PSEUDOLABEL_MAX_RECEIVE_COUNT: 'zero' });
    // Assess
    expect([byDefault, set]).toEqual([3, 5]);
    expect(bad).toThrow('PSEUDOLABEL_MAX_RECEIVE_COUNT must be an integer >= 1: zero');
  });
});

describe('the local worker builds Lambda events', () => {
  it('carries ApproximateReceiveCount from the received message into the record', () => {
    // Prepare
    const message = { MessageId: 'm', ReceiptHandle: 'r', Body: '{}', Attributes: { ApproximateReceiveCount: '3' } };
    // Act
    const event = sqsEventOf([message], 'arn:aws:sqs:us-east-1:000000000000:q', 'us-east-1');
    // Assess
    expect(receiveCountOf(event.Records[0])).toBe(3);
  });
});
