import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DEAD_LETTERS_SERVICE, handleDeadLetterBatch } from '../lib/hosts/serverless/deadLetterBatch.ts';
import { withMetrics } from '../lib/hosts/serverless/metrics.ts';
import { handlerRuntime } from '../lib/hosts/serverless/runtime.ts';

const runtime = handlerRuntime(DEAD_LETTERS_SERVICE);

/**
 * Consumes the tasks and reduce dead-letter queues: marks the run of each dead-lettered task failed with its
 * stage and reason, so a run whose worker died on every receive does not stay "running" for good.
 */
export const handler = withMetrics(
  runtime.metrics,
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => handleDeadLetterBatch(runtime, event, context),
);
