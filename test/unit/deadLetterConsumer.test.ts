import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSEvent, SQSMessageAttributes } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { handleDeadLetterBatch } from '../../lib/hosts/serverless/deadLetterBatch.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import { readRun } from '../../lib/pipeline/run/runRecord.ts';
import { startRun } from '../../lib/pipeline/run/startRun.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { taskMessage } from '../../lib/pipeline/taskMessage.ts';
import { sqsEvent } from '../support/sqsEvents.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

/**
 * The dead-letter consumer (functions/deadLetters.ts, and `pseudolabel worker`): a task that reached its DLQ
 * without a handler seeing its last receive (the worker died every time) marks its run failed with its stage.
 */

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function runtimeWithRun() {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-dead-letters-'));
  roots.push(root);
  const store = new FilesystemObjectStore(root);
  const ctx = filesystemStageContext(store);
  const logged: string[] = [];
  const logger = new Logger({ serviceName: 'test', logLevel: 'INFO' });
  for (const level of ['info', 'warn', 'error'] as const) {
    logger[level] = ((message: string) => void logged.push(message)) as never;
  }
  const run = await startRun(ctx, {
    dataset: 'dead',
    inputRoot: 's3://inputs',
    inputs: [{ key: 'data.csv', size: 100, etag: 'e' }],
    options: parseRunOptions({}),
  });
  return { runtime: { ctx, logger }, store, runId: run.runId, logged };
}

function deadLetterEvent(bodies: readonly string[], reason?: string): SQSEvent {
  const messageAttributes: SQSMessageAttributes =
    reason === undefined ? {} : { reason: { dataType: 'String', stringValue: reason } };
  return sqsEvent(
    bodies.map((body) => ({ body, messageAttributes })),
    'pseudolabel-tasks-dlq',
  );
}

describe('the dead-letter consumer', () => {
  it('marks the run of a dead-lettered task failed, naming the stage, round and shard', async () => {
    // Prepare
    const { runtime, store, runId } = await runtimeWithRun();
    const body = JSON.stringify(taskMessage(runId, 'neighbors', 0, 3));
    // Act
    const response = await handleDeadLetterBatch(runtime, deadLetterEvent([body]), {} as Context);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const record = await readRun(store, runId);
    expect({ status: record.status, stage: record.stage }).toEqual({ status: 'failed', stage: 'neighbors' });
    expect(record.error).toBe(
      'task neighbors shard 3 was dead-lettered: it did not complete in its allowed receives (the worker died, timed out or kept failing)',
    );
    expect(record.finishedAt).toBeDefined();
  });

  it('records the reason a handler gave the message', async () => {
    // Prepare
    const { runtime, store, runId } = await runtimeWithRun();
    const body = JSON.stringify(taskMessage(runId, 'score', 2, 1));
    // Act
    await handleDeadLetterBatch(runtime, deadLetterEvent([body], 'out of memory'), {} as Context);
    // Assess
    const record = await readRun(store, runId);
    expect(record.error).toBe('task score round 2 shard 1 was dead-lettered: out of memory');
    expect(record.stage).toBe('score');
  });

  it('logs and drops a message that is not a task message, or names no run', async () => {
    // Prepare
    const { runtime, store, runId, logged } = await runtimeWithRun();
    const bodies = ['not JSON', JSON.stringify({ v: 1, runId, stage: 'teleport', round: 0, shard: 0 })];
    bodies.push(JSON.stringify(taskMessage('no-such-run', 'ingest')));
    // Act
    const response = await handleDeadLetterBatch(runtime, deadLetterEvent(bodies), {} as Context);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(logged.filter((line) => line.endsWith('; dropped'))).toEqual([
      'dead letter is not a task message; dropped',
      'dead letter is not a task message; dropped',
      'dead letter names no run; dropped',
    ]);
    expect((await readRun(store, runId)).status).toBe('running');
  });

  it('leaves the run running when another delivery completed the dead letter’s work', async () => {
    // Prepare
    const { runtime, store, runId } = await runtimeWithRun();
    await store.put(keys.marker(runId, 'ingest', 0, 0), '{}');
    await store.put(keys.advanced(runId, 'plan', 0), 'done');
    const bodies = [taskMessage(runId, 'ingest', 0, 0), taskMessage(runId, 'plan')].map((t) => JSON.stringify(t));
    // Act
    await handleDeadLetterBatch(runtime, deadLetterEvent(bodies), {} as Context);
    // Assess
    expect((await readRun(store, runId)).status).toBe('running');
  });

  it('keeps the first reason of a run that has already ended', async () => {
    // Prepare
    const { runtime, store, runId } = await runtimeWithRun();
    const first = JSON.stringify(taskMessage(runId, 'collect'));
    const second = JSON.stringify(taskMessage(runId, 'neighbors', 0, 1));
    // Act
    await handleDeadLetterBatch(runtime, deadLetterEvent([first]), {} as Context);
    await handleDeadLetterBatch(runtime, deadLetterEvent([second]), {} as Context);
    // Assess
    const record = await readRun(store, runId);
    expect(record.stage).toBe('collect');
    expect(record.error).toMatch(/^task collect shard 0 was dead-lettered/);
  });
});
