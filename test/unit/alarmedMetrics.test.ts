import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OptionsError } from '../../lib/errors.ts';
import type { RunRecord } from '../../lib/pipeline/run/runRecord.ts';
import { emfLinesOf } from '../support/emfLines.ts';
import { objectCreatedBody, sqsEvent } from '../support/sqsEvents.ts';

/**
 * The metrics the stack's alarms watch (infra/stacks/pseudolabelStack.ts: namespace `pseudolabel`, dimension
 * `service` alone), read from the EMF lines the real handler modules write through Powertools Metrics. The store
 * calls are replaced (stalledRuns, startDatasetRun), so no bucket is needed.
 */

vi.mock('../../lib/pipeline/run/stalledRuns.ts', () => ({
  stalledRuns: async () => [{ runId: 'late-1', dataset: 'late', stage: 'iterate', round: 2 } as RunRecord],
}));
vi.mock('../../lib/pipeline/datasets/datasetRuns.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../lib/pipeline/datasets/datasetRuns.ts')>()),
  startDatasetRun: async () => {
    throw new OptionsError('pseudolabel.json: neighbors must be at most 1000');
  },
}));

beforeAll(() => {
  // What the stack gives the functions; read when the handler modules are imported.
  vi.stubEnv('PSEUDOLABEL_BUCKET', 'alarmed-metrics');
  vi.stubEnv('PSEUDOLABEL_TASKS_QUEUE_URL', 'tasks-url');
  vi.stubEnv('PSEUDOLABEL_REDUCE_QUEUE_URL', 'reduce-url');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => vi.unstubAllEnvs());

function directiveOf(line: Record<string, unknown>) {
  return (line._aws as { CloudWatchMetrics: unknown[] }).CloudWatchMetrics[0];
}

describe('alarmed handler metrics', () => {
  it('the deadline watch publishes RunsPastDeadline by service once per invocation', async () => {
    // Prepare
    const { handler } = await import('../../functions/deadlineWatch.ts');
    const { DEADLINE_WATCH_SERVICE } = await import('../../lib/hosts/serverless/handlers.ts');

    // Act
    const lines = await emfLinesOf(() => handler());

    // Assess
    expect(lines).toHaveLength(1);
    expect(directiveOf(lines[0])).toEqual({
      Namespace: 'pseudolabel',
      Dimensions: [['service']],
      Metrics: [{ Name: 'RunsPastDeadline', Unit: 'Count' }],
    });
    expect(lines[0]).toMatchObject({ service: DEADLINE_WATCH_SERVICE, RunsPastDeadline: 1 });
  });

  it('the upload handler publishes InvalidOptions by service when pseudolabel.json is invalid', async () => {
    // Prepare
    const { handler } = await import('../../functions/onObjectCreated.ts');
    const { OBJECT_CREATED_SERVICE } = await import('../../lib/hosts/serverless/objectCreatedBatch.ts');
    const event = sqsEvent(
      [{ body: objectCreatedBody('alarmed-metrics', 'incoming/bad/data.csv') }],
      'pseudolabel-events',
    );

    // Act
    const lines = await emfLinesOf(() => handler(event));

    // Assess
    expect(lines).toHaveLength(1);
    expect(directiveOf(lines[0])).toEqual({
      Namespace: 'pseudolabel',
      Dimensions: [['service']],
      Metrics: [{ Name: 'InvalidOptions', Unit: 'Count' }],
    });
    expect(lines[0]).toMatchObject({
      service: OBJECT_CREATED_SERVICE,
      InvalidOptions: 1,
      dataset: 'bad',
      error: 'pseudolabel.json: neighbors must be at most 1000',
    });
  });
});
