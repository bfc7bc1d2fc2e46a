import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sendToDeadLetterQueue } from '../../adapters/sqsMessages.ts';
import { UnknownRunError } from '../../pipeline/errors.ts';
import { executeTask } from '../../pipeline/executeTask.ts';
import { failRunOnLastReceive } from '../../pipeline/run/lastReceive.ts';
import { InvalidMessageError } from '../../pipeline/taskMessage.ts';
import { emitTaskMetric } from './metrics.ts';
import { backOff, retryDelayOf } from './retryBackoff.ts';
import type { HandlerRuntime } from './runtime.ts';

/** How many times SQS has handed out this record, this receive included (1 when the attribute is missing). */
export function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isInteger(count) && count >= 1 ? count : 1;
}

/** The task's place (runId, stage, round, shard) for metrics; empty for a body that is not JSON. */
function placeOf(body: string): Record<string, unknown> {
  try {
    const value = JSON.parse(body);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Handles a batch of task messages (tasks or reduce queue): each record runs one stage task; a transient
 * failure is reported as a batch item failure so SQS redelivers it (up to maxReceiveCount, then its DLQ); a
 * message that can never succeed (invalid, unknown run) is moved to the DLQ at once and logged.
 *
 * A transient failure on the record's last allowed receive (ApproximateReceiveCount >= maxReceiveCount) means
 * SQS will dead-letter it and nothing else will move its run on: the run is marked failed in run.json (stage and
 * reason) before the failure is reported, so it does not stay "running" forever.
 *
 * With `queueUrl` (the consumed queue), a retryable failure backs off: the record is delivered again after 30 s,
 * 2 min, 10 min by its receive count (settings.retryDelaysSeconds), not after the queue's visibility timeout.
 */
export async function handleTaskBatch(
  runtime: HandlerRuntime,
  deadLetterQueueUrl: string | undefined,
  event: SQSEvent,
  context: Context,
  queueUrl?: string,
): Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord) => {
    const started = performance.now();
    const place = placeOf(record.body);
    try {
      await executeTask(runtime.ctx, record.body);
      if (runtime.metrics) emitTaskMetric(runtime.metrics, 'TaskDuration', performance.now() - started, place);
    } catch (error) {
      if (runtime.metrics) emitTaskMetric(runtime.metrics, 'TaskFailures', 1, place);
      if (!(error instanceof InvalidMessageError || error instanceof UnknownRunError)) {
        await markRunOnLastReceive(runtime, record, error);
        if (queueUrl !== undefined) await backOffRecord(runtime, queueUrl, record, error);
        throw error;
      }
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

/** Sets the failed record's visibility to its back-off delay; best effort (it is logged when that fails). */
async function backOffRecord(runtime: HandlerRuntime, queueUrl: string, record: SQSRecord, error: unknown) {
  const receives = receiveCountOf(record);
  const delaySeconds = retryDelayOf(receives, runtime.settings.retryDelaysSeconds);
  const fields = {
    messageId: record.messageId,
    receives,
    delaySeconds,
    error: error instanceof Error ? error.message : String(error),
  };
  try {
    await backOff(runtime.clients.sqs, queueUrl, record, delaySeconds);
    runtime.logger.warn('task failed; it will be delivered again after its back-off', fields);
  } catch (changeError) {
    runtime.logger.warn('task failed; its back-off could not be set', { ...fields, changeError: String(changeError) });
  }
}

/**
 * On the last allowed receive, records the run as failed (lib/pipeline/run/lastReceive.ts, the rule of every host).
 * Best effort: if that write fails too (the store being what broke), it is logged and the task's own failure is
 * still reported.
 */
async function markRunOnLastReceive(runtime: HandlerRuntime, record: SQSRecord, error: unknown): Promise<void> {
  const delivery = {
    body: record.body,
    receives: receiveCountOf(record),
    maxReceives: runtime.settings.maxReceiveCount,
    error,
  };
  try {
    const failed = await failRunOnLastReceive(runtime.ctx.store, delivery, runtime.ctx.runEnded);
    if (failed) {
      runtime.logger.error('task failed on its last receive; run marked failed', {
        messageId: record.messageId,
        ...failed.task,
        reason: failed.reason,
      });
    }
  } catch (markError) {
    runtime.logger.error('task failed on its last receive; the run could not be marked failed', {
      messageId: record.messageId,
      error: markError instanceof Error ? markError.message : String(markError),
    });
  }
}
