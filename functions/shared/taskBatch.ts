import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sendToDeadLetterQueue } from '../../lib/adapters/serverlessContext.ts';
import { UnknownRunError } from '../../lib/pipeline/errors.ts';
import { executeTask } from '../../lib/pipeline/executeTask.ts';
import { InvalidMessageError } from '../../lib/pipeline/taskMessage.ts';
import type { HandlerRuntime } from './runtime.ts';

/**
 * Handles a batch of task messages (tasks or reduce queue): each record runs one stage task; a transient
 * failure is reported as a batch item failure so SQS redelivers it (up to maxReceiveCount, then its DLQ); a
 * message that can never succeed (invalid, unknown run) is moved to the DLQ at once and logged.
 */
export async function handleTaskBatch(
  runtime: HandlerRuntime,
  deadLetterQueueUrl: string | undefined,
  event: SQSEvent,
  context: Context,
): Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord) => {
    try {
      await executeTask(runtime.ctx, record.body);
    } catch (error) {
      if (!(error instanceof InvalidMessageError || error instanceof UnknownRunError)) throw error;
      runtime.logger.error('message can never succeed; moved to the dead-letter queue', {
        messageId: record.messageId,
        reason: error.message,
      });
      if (!deadLetterQueueUrl) throw error;
      await sendToDeadLetterQueue(runtime.clients.sqs, deadLetterQueueUrl, record.body, error.message);
    }
  };
  return processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
}
