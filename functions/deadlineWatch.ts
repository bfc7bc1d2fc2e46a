import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { stalledRuns } from '../lib/pipeline/stalledRuns.ts';
import { withMetrics } from './shared/metrics.ts';
import { handlerRuntime } from './shared/runtime.ts';

export const SERVICE = 'pseudolabel-deadline-watch';
const runtime = handlerRuntime(SERVICE);

/**
 * Invoked by a schedule (every 15 minutes): counts the runs still running past their deadline and emits the
 * RunsPastDeadline metric, which the stack's alarm watches; each stalled run is logged with its stage.
 */
export const handler = withMetrics(runtime.metrics, async (): Promise<{ stalled: string[] }> => {
  const stalled = await stalledRuns(runtime.ctx.store);
  for (const run of stalled) {
    runtime.logger.error('run past its deadline', {
      runId: run.runId,
      dataset: run.dataset,
      stage: run.stage,
      round: run.round,
      deadline: run.deadline,
    });
  }
  runtime.metrics.addMetric('RunsPastDeadline', MetricUnit.Count, stalled.length);
  return { stalled: stalled.map((run) => run.runId) };
});
