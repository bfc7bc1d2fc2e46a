import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { withMetrics } from '../lib/hosts/serverless/metrics.ts';
import { handlerRuntime } from '../lib/hosts/serverless/runtime.ts';
import { handleTaskBatch } from '../lib/hosts/serverless/taskBatch.ts';

const runtime = handlerRuntime('pseudolabel-reducer');

/**
 * Consumes the reduce queue: plan, collect, calibrate, propagate, graph, converge, reduce and finalize steps; each
 * enqueues what follows.
 */
export const handler = withMetrics(
  runtime.metrics,
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    handleTaskBatch(runtime, runtime.settings.reduceDlqUrl, event, context, runtime.settings.reduceQueueUrl),
);
