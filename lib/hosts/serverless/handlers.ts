import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
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
