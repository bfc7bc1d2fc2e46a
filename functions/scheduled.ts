import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { withMetrics } from '../lib/hosts/serverless/metrics.ts';
import { handlerRuntime } from '../lib/hosts/serverless/runtime.ts';
import { retrainScheduled } from '../lib/pipeline/datasets/scheduledRetrain.ts';

export const SERVICE = 'pseudolabel-scheduled';
const runtime = handlerRuntime(SERVICE);

/** The schedule's event: `{}`, or `{ datasets: [...] }` retrained on every schedule whatever their pseudolabel.json says. */
const scheduledEvent = z.object({ datasets: z.array(z.string().min(1)).optional() }).passthrough();

/**
 * Invoked by the stack's one retraining schedule: retrains every dataset whose pseudolabel.json asks for it
 * (lib/pipeline/datasets/scheduledRetrain.ts), each only when something changed since its latest version.
 */
export const handler = withMetrics(runtime.metrics, async (event: unknown): Promise<{ started: string[] }> => {
  const { datasets = [] } = scheduledEvent.parse(event ?? {});
  const results = await retrainScheduled(
    runtime.ctx,
    `s3://${runtime.settings.bucket}`,
    datasets,
    runtime.settings.host,
  );
  for (const result of results) {
    if (result.outcome === 'failed') runtime.logger.error('cannot retrain', { ...result });
    else runtime.logger.info(`retrain: ${result.outcome}`, { ...result });
  }
  const failed = results.filter((result) => result.outcome === 'failed').length;
  if (failed > 0) runtime.metrics.addMetric('RetrainFailed', MetricUnit.Count, failed);
  return { started: results.flatMap((result) => (result.runId ? [result.runId] : [])) };
});
