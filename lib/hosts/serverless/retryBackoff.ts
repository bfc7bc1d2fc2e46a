import type { SQSRecord } from 'aws-lambda';
import type { SQSClient } from '../../adapters/awsClients.ts';
import { delayRedelivery } from '../../adapters/sqsMessages.ts';

/** Seconds before the next delivery of a task that failed on its `receives`-th receive (the last delay repeats). */
export function retryDelayOf(receives: number, delaysSeconds: readonly number[]): number {
  return delaysSeconds[Math.min(receives, delaysSeconds.length) - 1] ?? 0;
}

/**
 * Backs off a retryable failure: sets the record's visibility timeout (ChangeMessageVisibility) to the delay for
 * its receive count, so a transient fault is retried after 30 s, 2 min, 10 min instead of the queue's whole
 * visibility timeout (90 minutes for the tasks queue). The batch handler then reports the record as failed,
 * which leaves it invisible until then.
 */
export async function backOff(sqs: SQSClient, queueUrl: string, record: SQSRecord, delaySeconds: number) {
  await delayRedelivery(sqs, queueUrl, record.receiptHandle, delaySeconds);
}
