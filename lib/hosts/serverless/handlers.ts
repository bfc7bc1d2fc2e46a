import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { retrainScheduled } from '../../pipeline/datasets/scheduledRetrain.ts';
import { stalledRuns } from '../../pipeline/run/stalledRuns.ts';
import { DEAD_LETTERS_SERVICE, handleDeadLetterBatch } from './deadLetterBatch.ts';
import { withMetrics } from './metrics.ts';
import { handleObjectCreatedBatch, OBJECT_CREATED_SERVICE } from './objectCreatedBatch.ts';
import { handlerRuntime } from './runtime.ts';
import { handleTaskBatch } from './taskBatch.ts';

/** A handler of one SQS event source mapping (a Lambda function's, or `pseudolabel worker`'s). */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * The handlers of the queues, each built with its runtime from the environment (functions/*.ts call them once,
 * at module level, as Lambda keeps a container's runtime; `pseudolabel worker` after it set the environment).
 */

/** The tasks queue: one shard task (ingest, cells, neighbors, gather, edges, degrees, iterate, outcome, score) per message. */
export function shardTaskHandler(): SqsHandler {
  const runtime = handlerRuntime('pseudolabel-worker');
  return withMetrics(runtime.metrics, (event: SQSEvent, context: Context) =>
    handleTaskBatch(runtime, runtime.settings.tasksDlqUrl, event, context, runtime.settings.tasksQueueUrl),
  );
}

/**
 * The reduce queue: the steps that run once per run and round (plan, collect, calibrate, lists, propagate, graph,
 * converge, self-training's `reduce`, finalize); each enqueues what follows.
 */
export function reduceStepHandler(): SqsHandler {
  const runtime = handlerRuntime('pseudolabel-reducer');
  return withMetrics(runtime.metrics, (event: SQSEvent, context: Context) =>
    handleTaskBatch(runtime, runtime.settings.reduceDlqUrl, event, context, runtime.settings.reduceQueueUrl),
  );
}

/** The events queue (S3 ObjectCreated under incoming/): one run per dataset of a burst of uploads. */
export function objectCreatedHandler(): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  const runtime = handlerRuntime(OBJECT_CREATED_SERVICE);
  return withMetrics(runtime.metrics, (event: SQSEvent, context?: Context) =>
    handleObjectCreatedBatch(runtime, event, context),
  );
}

/**
 * The tasks and reduce dead-letter queues: marks the run of each dead-lettered task failed with its stage and
 * reason, so a run whose worker died on every receive does not stay "running" for good.
 */
export function deadLetterHandler(): SqsHandler {
  const runtime = handlerRuntime(DEAD_LETTERS_SERVICE);
  return withMetrics(runtime.metrics, (event: SQSEvent, context: Context) =>
    handleDeadLetterBatch(runtime, event, context),
  );
}

export const DEADLINE_WATCH_SERVICE = 'pseudolabel-deadline-watch';

/**
 * Invoked by a schedule (every 15 minutes): counts the runs still running past their deadline and emits the
 * RunsPastDeadline metric, which the stack's alarm watches; each stalled run is logged with its stage.
 */
export function deadlineWatchHandler(): () => Promise<{ stalled: string[] }> {
  const runtime = handlerRuntime(DEADLINE_WATCH_SERVICE);
  return withMetrics(runtime.metrics, async () => {
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
}

export const SCHEDULED_SERVICE = 'pseudolabel-scheduled';

/** The schedule's event: `{}`, or `{ datasets: [...] }` retrained on every schedule whatever their pseudolabel.json says. */
const scheduledEvent = z.object({ datasets: z.array(z.string().min(1)).optional() }).passthrough();

/**
 * Invoked by the stack's one retraining schedule: retrains every dataset whose pseudolabel.json asks for it
 * (lib/pipeline/datasets/scheduledRetrain.ts), each only when something changed since its latest version.
 */
export function scheduledHandler(): (event: unknown) => Promise<{ started: string[] }> {
  const runtime = handlerRuntime(SCHEDULED_SERVICE);
  return withMetrics(runtime.metrics, async (event: unknown) => {
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
}
