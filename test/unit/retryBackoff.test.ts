import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { retryDelayOf } from '../../lib/hosts/serverless/retryBackoff.ts';
import type { HandlerRuntime } from '../../lib/hosts/serverless/runtime.ts';
import { serverlessSettings } from '../../lib/hosts/serverless/serverlessContext.ts';
import { handleTaskBatch } from '../../lib/hosts/serverless/taskBatch.ts';
import { startRun } from '../../lib/pipeline/run/startRun.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { taskMessage } from '../../lib/pipeline/taskMessage.ts';
import { sqsEvent } from '../support/sqsEvents.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

/**
 * A retryable failure backs off: the handler sets the record's visibility to 30 s, 2 min, 10 min by its receive
 * count (ChangeMessageVisibility on the consumed queue) instead of leaving it for the queue's 90-minute timeout.
 */

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** A runtime whose SQS client records the commands sent; a running run whose neighbors data does not exist. */
async function runtimeWithRun() {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-backoff-'));
  roots.push(root);
  const store = new FilesystemObjectStore(root);
  const ctx = filesystemStageContext(store);
  const sent: ChangeMessageVisibilityCommand['input'][] = [];
  const sqs = {
    send: async (command: { input: ChangeMessageVisibilityCommand['input'] }) => void sent.push(command.input),
  };
  const runtime: HandlerRuntime = {
    settings: {
      bucket: 'b',
      tasksQueueUrl: 'tasks-url',
      reduceQueueUrl: 'reduce-url',
      maxReceiveCount: 3,
      retryDelaysSeconds: [30, 120, 600],
    },
    clients: { s3: {} as S3Client, sqs: sqs as unknown as SQSClient },
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    ctx,
  };
  const run = await startRun(ctx, {
    dataset: 'backoff',
    inputRoot: root,
    inputs: [{ key: 'data.csv', size: 10, etag: 'e' }],
    options: parseRunOptions({}),
  });
  return { runtime, runId: run.runId, sent };
}

describe('retry back-off', () => {
  it('sets the failed record’s visibility to 30 s, 2 min, 10 min by receive count, and reports the failure', async () => {
    // Prepare: the neighbors task of a run that has not been collected fails (its inputs are missing).
    const { runtime, runId, sent } = await runtimeWithRun();
    const task = taskMessage(runId, 'neighbors', 0, 0);
    // Act
    const responses = [];
    for (const receives of [1, 2, 3]) {
      responses.push(
        await handleTaskBatch(
          runtime,
          undefined,
          sqsEvent([{ body: task, receives, receiptHandle: `receipt-${receives}` }]),
          {} as Context,
          'tasks-url',
        ),
      );
    }
    // Assess
    expect(responses.map((r) => r.batchItemFailures)).toEqual([
      [{ itemIdentifier: 'm-0' }],
      [{ itemIdentifier: 'm-0' }],
      [{ itemIdentifier: 'm-0' }],
    ]);
    expect(sent).toEqual([
      { QueueUrl: 'tasks-url', ReceiptHandle: 'receipt-1', VisibilityTimeout: 30 },
      { QueueUrl: 'tasks-url', ReceiptHandle: 'receipt-2', VisibilityTimeout: 120 },
      { QueueUrl: 'tasks-url', ReceiptHandle: 'receipt-3', VisibilityTimeout: 600 },
    ]);
  });

  it('repeats the last delay past the list, and reads the delays from PSEUDOLABEL_RETRY_DELAYS', () => {
    // Prepare
    const env = { PSEUDOLABEL_BUCKET: 'b', PSEUDOLABEL_TASKS_QUEUE_URL: 't', PSEUDOLABEL_REDUCE_QUEUE_URL: 'r' };
    // Act
    const delays = [1, 2, 3, 7].map((receives) => retryDelayOf(receives, [30, 120, 600]));
    const configured = serverlessSettings({ ...env, PSEUDOLABEL_RETRY_DELAYS: '1, 2' }).retryDelaysSeconds;
    const bad = () => serverlessSettings({ ...env, PSEUDOLABEL_RETRY_DELAYS: '1,soon' });
    // Assess
    expect(delays).toEqual([30, 120, 600, 600]);
    expect(configured).toEqual([1, 2]);
    expect(serverlessSettings(env).retryDelaysSeconds).toEqual([30, 120, 600]);
    expect(bad).toThrow('PSEUDOLABEL_RETRY_DELAYS must be seconds');
  });
});
