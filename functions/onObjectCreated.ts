import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { withMetrics } from '../lib/hosts/serverless/metrics.ts';
import { handleObjectCreatedBatch, OBJECT_CREATED_SERVICE } from '../lib/hosts/serverless/objectCreatedBatch.ts';
import { handlerRuntime } from '../lib/hosts/serverless/runtime.ts';

const runtime = handlerRuntime(OBJECT_CREATED_SERVICE);

/** Consumes the events queue (S3 ObjectCreated under incoming/): one run per dataset of a burst of uploads. */
export const handler = withMetrics(
  runtime.metrics,
  (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => handleObjectCreatedBatch(runtime, event, context),
);
