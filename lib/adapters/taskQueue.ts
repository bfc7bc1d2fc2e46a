/**
 * Where stage tasks go: an SQS queue, or an in-process queue in embedded mode. Delivery is at least once:
 * consumers must tolerate duplicates and redelivery, so every stage is idempotent.
 */
export interface TaskQueue {
  send(message: unknown): Promise<void>;
  /** Sends several messages (SQS batches of at most 10 are handled by the implementation). */
  sendBatch(messages: readonly unknown[]): Promise<void>;
}
