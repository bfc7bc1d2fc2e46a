import type { TaskQueue } from '../../adapters/taskQueue.ts';

/** A TaskQueue that only records what is sent: a worker thread hands the messages back to the runner. */
export class CollectingQueue implements TaskQueue {
  readonly sent: unknown[] = [];
  async send(message: unknown): Promise<void> {
    this.sent.push(message);
  }
  async sendBatch(messages: readonly unknown[]): Promise<void> {
    this.sent.push(...messages);
  }
}
