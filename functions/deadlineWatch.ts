import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { withMetrics } from '../lib/hosts/serverless/metrics.ts';
import { handlerRuntime } from '../lib/hosts/serverless/runtime.ts';
import { stalledRuns } from '../lib/pipeline/run/stalledRuns.ts';

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
