import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { Consumer } from 'sqs-consumer';

/**
 * Lambda's SQS event source mapping, emulated over the SQS API for `pseudolabel worker`
 * (lib/hosts/serverless/localWorker.ts): long polling, a batch per invocation, the batching window, the
 * visibility timeout while the handler runs, and ReportBatchItemFailures semantics.
 */

/** The Lambda SQS event the event source mapping would build from received messages. */
export function sqsEventOf(messages: readonly Message[], queueArn: string, region: string): SQSEvent {
  return {
    Records: messages.map(
      (message): SQSRecord => ({
        messageId: message.MessageId ?? '',
        receiptHandle: message.ReceiptHandle ?? '',
        body: message.Body ?? '',
        attributes: {
          ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: message.Attributes?.SentTimestamp ?? '0',
          SenderId: message.Attributes?.SenderId ?? '',
          ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? '0',
        },
        messageAttributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
            name,
            { dataType: value.DataType ?? 'String', stringValue: value.StringValue },
          ]),
        ),
        md5OfBody: message.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: region,
      }),
    ),
  };
}

export async function queueUrlOf(sqs: SQSClient, name: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`queue ${name} not found`);
  return QueueUrl;
}

/**
 * The maxReceiveCount of a queue's redrive policy (what the CDK stack passes to the Lambdas as
 * PSEUDOLABEL_MAX_RECEIVE_COUNT), or undefined when it has none.
 */
export async function maxReceiveCountOf(sqs: SQSClient, queueUrl: string): Promise<number | undefined> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  if (!Attributes?.RedrivePolicy) return undefined;
  const count = Number((JSON.parse(Attributes.RedrivePolicy) as { maxReceiveCount?: unknown }).maxReceiveCount);
  return Number.isInteger(count) && count >= 1 ? count : undefined;
}

/**
 * Lambda's batching window: receives more records after the first ones until the batch is full or the window has
 * passed (it may run over by up to a second, the long-poll granularity).
 */
async function gatherBatch(
  sqs: SQSClient,
  queueUrl: string,
  first: readonly Message[],
  batchSize: number,
  windowSeconds: number,
  visibilityTimeout: number,
): Promise<Message[]> {
  const messages = [...first];
  const ids = new Set(first.map((message) => message.MessageId));
  const deadline = Date.now() + windowSeconds * 1000;
  while (messages.length < batchSize && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
        WaitTimeSeconds: 1,
        VisibilityTimeout: visibilityTimeout,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    for (const message of Messages) {
      // A record already in the batch (received again after its visibility timeout) is kept once.
      if (ids.has(message.MessageId)) continue;
      ids.add(message.MessageId);
      messages.push(message);
    }
  }
  return messages;
}

/** One event source mapping: a queue, the handler it invokes, the batch size and the batching window. */
export interface EventSourceMapping {
  readonly queueUrl: string;
  readonly region: string;
  readonly batchSize: number;
  /** Seconds to keep gathering records into a batch that is not full (MaximumBatchingWindowInSeconds). */
  readonly batchingWindowSeconds: number;
  /** Seconds a received batch stays invisible; longer than the batching window plus the handler's run. */
  readonly visibilityTimeout: number;
  readonly handler: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;
  /** Sees the bodies of each receive before the handler runs (fault injection). */
  readonly onReceive?: (bodies: readonly string[]) => void;
  readonly log?: (line: string) => void;
}

export interface RunningMapping {
  /** Stops polling, waits for the batches in hand to finish. */
  stop(): Promise<void>;
}

/**
 * Polls the mapping's queue and invokes its handler per batch; only the records the handler did not report as
 * failed are deleted (the others reappear after the visibility timeout, and after maxReceiveCount receives SQS
 * moves them to the DLQ). A handler that throws leaves the whole batch for redelivery.
 */
export async function startEventSourceMapping(sqs: SQSClient, mapping: EventSourceMapping): Promise<RunningMapping> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: mapping.queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn ?? mapping.queueUrl;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const consumer = Consumer.create({
    queueUrl: mapping.queueUrl,
    sqs,
    batchSize: mapping.batchSize,
    visibilityTimeout: mapping.visibilityTimeout,
    waitTimeSeconds: 1,
    pollingWaitTimeMs: 0,
    attributeNames: ['All'],
    // As Lambda's event source mapping: ApproximateReceiveCount is how a handler knows a receive is the last.
    messageSystemAttributeNames: ['All'],
    // The reason a handler gave a message it moved to a dead-letter queue.
    messageAttributeNames: ['All'],
    // Returned messages are deleted by sqs-consumer, including those gathered by the batching window.
    handleMessageBatch: async (received: Message[]) => {
      mapping.onReceive?.(received.map((message) => message.Body ?? ''));
      inFlight++;
      try {
        const messages =
          mapping.batchingWindowSeconds > 0
            ? await gatherBatch(
                sqs,
                mapping.queueUrl,
                received,
                mapping.batchSize,
                mapping.batchingWindowSeconds,
                mapping.visibilityTimeout,
              )
            : received;
        const response = await mapping.handler(sqsEventOf(messages, arn, mapping.region));
        const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        return messages.filter((m) => !failed.has(m.MessageId ?? ''));
      } catch (error) {
        mapping.log?.(`batch failed, left for redelivery: ${error instanceof Error ? error.message : error}`);
        return [];
      } finally {
        inFlight--;
        if (inFlight === 0) idle?.();
      }
    },
  });
  consumer.on('error', (error) => mapping.log?.(`sqs error: ${error.message}`));
  consumer.start();
  return {
    async stop() {
      consumer.stop();
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
    },
  };
}
