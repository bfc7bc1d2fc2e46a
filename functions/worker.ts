import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { withMetrics } from '../lib/hosts/serverless/metrics.ts';
import { handlerRuntime } from '../lib/hosts/serverless/runtime.ts';
import { handleTaskBatch } from '../lib/hosts/serverless/taskBatch.ts';

const runtime = handlerRuntime('pseudolabel-worker');

/** Consumes the tasks queue: one shard task (ingest, cells, neighbors, gather, edges, degrees, iterate, outcome, score) per message. */
export const handler = withMetrics(
  runtime.metrics,
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    handleTaskBatch(runtime, runtime.settings.tasksDlqUrl, event, context, runtime.settings.tasksQueueUrl),
);
