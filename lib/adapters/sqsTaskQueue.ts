import { GetQueueUrlCommand, SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from './awsClients.ts';
import type { TaskQueue } from './taskQueue.ts';

/** SQS's limit on entries per SendMessageBatch. */
export const SQS_BATCH_LIMIT = 10;

export interface SqsTaskQueueOptions {
  /** Queue URL (`http(s)://...`) or name, resolved once with GetQueueUrl. */
  readonly queue: string;
  /** Default: `createSqsClient()` (endpoint and region from the environment). */
  readonly client?: SQSClient;
  /** Attempts per batch entry before giving up (entries SQS marks as the sender's fault are not retried). Default 3. */
  readonly attempts?: number;
}

/** Some messages could not be sent; `failures` holds SQS's code and message per failed entry. */
export class QueueSendError extends Error {
  constructor(
    readonly queue: string,
    readonly failures: readonly { readonly code: string; readonly message: string }[],
  ) {
    super(`${failures.length} message(s) could not be sent to ${queue}: ${failures[0]?.code} ${failures[0]?.message}`);
    this.name = 'QueueSendError';
  }
}

/** TaskQueue over an SQS queue. Bodies are JSON; batches go in chunks of 10 with failed entries retried. */
export class SqsTaskQueue implements TaskQueue {
  readonly client: SQSClient;
  private readonly queue: string;
  private readonly attempts: number;
  private url: Promise<string> | undefined;

  constructor(options: SqsTaskQueueOptions) {
    if (!options.queue) throw new RangeError('SqsTaskQueue needs a queue URL or name');
    this.queue = options.queue;
    this.client = options.client ?? createSqsClient();
    this.attempts = Math.max(1, options.attempts ?? 3);
  }

  /** The queue URL (resolved from the name on first use; a failed lookup is retried on the next call). */
  queueUrl(): Promise<string> {
    if (/^https?:\/\//.test(this.queue)) return Promise.resolve(this.queue);
    this.url ??= this.client.send(new GetQueueUrlCommand({ QueueName: this.queue })).then(
      (response) => response.QueueUrl ?? Promise.reject(new Error(`no URL returned for queue ${this.queue}`)),
      (error: unknown) => {
        this.url = undefined;
        throw error;
      },
    );
    return this.url;
  }

  async send(message: unknown): Promise<void> {
    const body = encode(message);
    await this.client.send(new SendMessageCommand({ QueueUrl: await this.queueUrl(), MessageBody: body }));
  }

  async sendBatch(messages: readonly unknown[]): Promise<void> {
    const bodies = messages.map(encode);
    if (bodies.length === 0) return;
    const url = await this.queueUrl();
    for (let start = 0; start < bodies.length; start += SQS_BATCH_LIMIT) {
      await this.sendChunk(url, bodies.slice(start, start + SQS_BATCH_LIMIT));
    }
  }

  private async sendChunk(url: string, bodies: readonly string[]): Promise<void> {
    let pending = bodies.map((body, index) => ({ Id: String(index), MessageBody: body }));
    for (let attempt = 1; ; attempt++) {
      const response = await this.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: pending }));
      const failed = response.Failed ?? [];
      if (failed.length === 0) return;
      const retryable = failed.every((entry) => !entry.SenderFault);
      if (attempt >= this.attempts || !retryable) {
        throw new QueueSendError(
          this.queue,
          failed.map((entry) => ({ code: entry.Code ?? 'Unknown', message: entry.Message ?? '' })),
        );
      }
      const failedIds = new Set(failed.map((entry) => entry.Id));
      pending = pending.filter((entry) => failedIds.has(entry.Id));
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (attempt - 1)));
    }
  }
}

function encode(message: unknown): string {
  const json = JSON.stringify(message);
  if (json === undefined) throw new TypeError('a queue message must be JSON-serialisable');
  return json;
}
