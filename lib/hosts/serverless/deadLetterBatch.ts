import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { settleDeadLetter } from '../../pipeline/run/deadLetters.ts';
import { emitEvent } from './metrics.ts';
import type { HandlerRuntime } from './runtime.ts';
import { stageLog } from './runtime.ts';

/** The service name of the dead-letter consumer (its logs and metrics). */
export const DEAD_LETTERS_SERVICE = 'pseudolabel-dead-letters';

/** The reason a handler gave a message it moved to the DLQ (sendToDeadLetterQueue), if any. */
export function deadLetterReasonOf(record: SQSRecord): string | undefined {
  return record.messageAttributes?.reason?.stringValue;
}

/**
 * Handles a batch of dead letters (tasks or reduce DLQ): each one's run is marked failed with its stage and
 * reason (lib/pipeline/run/deadLetters.ts); a message that is not a task message is logged and dropped. A store
 * error is reported as a batch item failure, so the dead letter is taken again later.
 */
export async function handleDeadLetterBatch(
  runtime: Pick<HandlerRuntime, 'ctx' | 'logger' | 'metrics'>,
  event: SQSEvent,
  context: Context,
): Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  const log = stageLog(runtime.logger);
  const recordHandler = async (record: SQSRecord) => {
    const outcome = await settleDeadLetter(
      { store: runtime.ctx.store, log, runEnded: runtime.ctx.runEnded },
      record.body,
      deadLetterReasonOf(record),
    );
    runtime.logger.info('dead letter settled', { messageId: record.messageId, outcome });
    if (outcome === 'run-failed' && runtime.metrics) {
      emitEvent(runtime.metrics, 'DeadLetteredTasks', { messageId: record.messageId, body: record.body });
    }
  };
  return processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
}
