import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE as ALARMS_NAMESPACE } from '../../infra/constructs/alarms.ts';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { handleDeadLetterBatch } from '../../lib/hosts/serverless/deadLetterBatch.ts';
import {
  emitRunEnded,
  emitTaskMetric,
  METRICS_NAMESPACE,
  serviceMetrics,
  withMetrics,
} from '../../lib/hosts/serverless/metrics.ts';
import type { HandlerRuntime } from '../../lib/hosts/serverless/runtime.ts';
import { handleTaskBatch } from '../../lib/hosts/serverless/taskBatch.ts';
import { markRunCancelled, readRun } from '../../lib/pipeline/run/runRecord.ts';
import { startRun } from '../../lib/pipeline/run/startRun.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { taskMessage } from '../../lib/pipeline/taskMessage.ts';
import { blobRows, csvText, writeInput } from '../pipeline/support/datasets.ts';
import { driveRun } from '../pipeline/support/manualDriver.ts';
import { type Emf, emfLinesOf } from '../support/emfLines.ts';
import { sqsEvent } from '../support/sqsEvents.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

/**
 * Powertools Metrics of the handlers (lib/hosts/serverless/metrics.ts), read back from the EMF lines they write on
 * stdout: task durations and failures by stage, the alarmed counters by service, and each run's end by status and
 * dataset (runId as metadata, never a dimension), told once however many deliveries see it.
 */

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** The metric names, units and dimension sets of one EMF line. */
function definitionOf(line: Emf) {
  const [directive] = line._aws.CloudWatchMetrics;
  return { namespace: directive.Namespace, dimensions: directive.Dimensions, metrics: directive.Metrics };
}

async function tempRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-handler-metrics-'));
  roots.push(root);
  return root;
}

/** A runtime over a filesystem store with a running run (dataset `metered`) whose shard data does not exist. */
async function runtimeWithRun(service: string) {
  const store = new FilesystemObjectStore(await tempRoot());
  const ctx = filesystemStageContext(store, { runEnded: emitRunEnded });
  const runtime: HandlerRuntime & { metrics: ReturnType<typeof serviceMetrics> } = {
    service,
    settings: {
      bucket: 'b',
      tasksQueueUrl: 'tasks-url',
      reduceQueueUrl: 'reduce-url',
      maxReceiveCount: 3,
      retryDelaysSeconds: [30],
    },
    clients: { s3: {} as S3Client, sqs: { send: async () => {} } as unknown as SQSClient },
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    metrics: serviceMetrics(service),
    ctx,
  };
  const run = await startRun(ctx, {
    dataset: 'metered',
    inputRoot: 's3://inputs',
    inputs: [{ key: 'data.csv', size: 10, etag: 'e' }],
    options: parseRunOptions({}),
  });
  return { runtime, store, runId: run.runId };
}

describe('handler metrics (Powertools EMF)', () => {
  it('writes a task metric by service and stage, with runId, round and shard as metadata', async () => {
    // Prepare
    const metrics = serviceMetrics('pseudolabel-worker');
    const place = { runId: 'ds-1', stage: 'neighbors', round: 0, shard: 3 };

    // Act
    const lines = await emfLinesOf(() => emitTaskMetric(metrics, 'TaskFailures', 1, place));

    // Assess
    expect(lines).toHaveLength(1);
    expect(definitionOf(lines[0])).toEqual({
      namespace: 'pseudolabel',
      dimensions: [['service', 'stage']],
      metrics: [{ Name: 'TaskFailures', Unit: 'Count' }],
    });
    expect(lines[0]).toMatchObject({
      service: 'pseudolabel-worker',
      stage: 'neighbors',
      TaskFailures: 1,
      runId: 'ds-1',
      round: '0',
      shard: '3',
    });
  });

  it('a task failing on its last receive: TaskFailures for its stage, and RunsEnded failed by dataset', async () => {
    // Prepare
    const { runtime, store, runId } = await runtimeWithRun('pseudolabel-worker');
    const handler = withMetrics(runtime.metrics, (event: SQSEvent) =>
      handleTaskBatch(runtime, undefined, event, {} as Context),
    );

    // Act
    const lines = await emfLinesOf(() =>
      handler(sqsEvent([{ body: taskMessage(runId, 'neighbors', 0, 0), receives: 3 }])),
    );

    // Assess
    const failures = lines.filter((line) => 'TaskFailures' in line);
    const ended = lines.filter((line) => 'RunsEnded' in line);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ service: 'pseudolabel-worker', stage: 'neighbors', runId });
    expect(ended).toHaveLength(1);
    expect(definitionOf(ended[0]).dimensions).toEqual([['service', 'status', 'dataset']]);
    expect(definitionOf(ended[0]).metrics).toEqual([
      { Name: 'RunDuration', Unit: 'Milliseconds' },
      { Name: 'RunsEnded', Unit: 'Count' },
    ]);
    expect(ended[0]).toMatchObject({
      service: 'pseudolabel-runs',
      status: 'failed',
      dataset: 'metered',
      runId,
      stage: 'neighbors',
      RunsEnded: 1,
    });
    expect(ended[0].RunDuration).toBeGreaterThanOrEqual(0);
    expect((await readRun(store, runId)).status).toBe('failed');
  });

  it('the dead-letter consumer: DeadLetteredTasks by service only (what its alarm watches), the task as metadata', async () => {
    // Prepare
    const { runtime, runId } = await runtimeWithRun('pseudolabel-dead-letters');
    const handler = withMetrics(runtime.metrics, (event: SQSEvent) =>
      handleDeadLetterBatch(runtime, event, {} as Context),
    );

    // Act
    const lines = await emfLinesOf(() =>
      handler(sqsEvent([{ body: taskMessage(runId, 'ingest', 0, 1), receives: 1 }])),
    );

    // Assess
    const deadLettered = lines.filter((line) => 'DeadLetteredTasks' in line);
    expect(deadLettered).toHaveLength(1);
    expect(definitionOf(deadLettered[0])).toEqual({
      namespace: ALARMS_NAMESPACE,
      dimensions: [['service']],
      metrics: [{ Name: 'DeadLetteredTasks', Unit: 'Count' }],
    });
    expect(deadLettered[0]).toMatchObject({ service: 'pseudolabel-dead-letters', DeadLetteredTasks: 1 });
    expect(JSON.parse(String(deadLettered[0].body))).toMatchObject({ runId, stage: 'ingest', shard: 1 });
    expect(lines.filter((line) => line.status === 'failed' && 'RunsEnded' in line)).toHaveLength(1);
  });

  it('a cancelled run is counted once: a second cancel of the ended run writes nothing', async () => {
    // Prepare
    const { runtime, store, runId } = await runtimeWithRun('pseudolabel-reducer');

    // Act
    const first = await emfLinesOf(() => markRunCancelled(store, runId, 'by test', runtime.ctx.runEnded));
    const second = await emfLinesOf(() => markRunCancelled(store, runId, 'by test', runtime.ctx.runEnded));

    // Assess
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ status: 'cancelled', dataset: 'metered', runId, RunsEnded: 1 });
    expect(second).toEqual([]);
  });

  it('a run that succeeds is counted once, though every step is delivered twice', async () => {
    // Prepare
    const dir = await tempRoot();
    const input = await writeInput(dir, 'blobs.csv', csvText(blobRows({ n: 60, seed: 4 })));
    const options = parseRunOptions({ shards: 2, workers: 1, neighbors: 5, neighborsMode: 'exact' });

    // Act
    const lines = await emfLinesOf(() =>
      driveRun(input, path.join(dir, 'state'), options, 'metrics-succeeded', {
        copies: () => 2,
        runEnded: emitRunEnded,
      }),
    );

    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: 'pseudolabel-runs',
      status: 'succeeded',
      dataset: 'blobs.csv',
      runId: 'metrics-succeeded',
      stage: 'finalize',
      RunsEnded: 1,
    });
  });

  it('writes nothing when POWERTOOLS_METRICS_DISABLED is true (what `pseudolabel worker` sets by default)', async () => {
    // Prepare
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    const metrics = serviceMetrics('pseudolabel-worker');
    const handler = withMetrics(metrics, async () => {
      emitTaskMetric(metrics, 'TaskDuration', 12, { runId: 'r', stage: 'ingest' });
      metrics.addMetric('RunsPastDeadline', 'Count', 1);
    });

    // Act
    const lines = await emfLinesOf(handler);

    // Assess
    expect(lines).toEqual([]);
    expect(metrics.hasStoredMetrics()).toBe(false);
  });

  it('uses the namespace the stack’s alarms watch', () => {
    // Assess
    expect(METRICS_NAMESPACE).toBe(ALARMS_NAMESPACE);
  });
});
