import { GetQueueAttributesCommand, GetQueueUrlCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Consumer } from 'sqs-consumer';
import { createSqsClient } from '../../lib/adapters/awsClients.ts';
import { sqsEventOf } from './sqsEvent.ts';

/** One event source mapping: a queue, the handler it invokes, and the batch size. */
interface Mapping {
  readonly queue: string;
  readonly batchSize: number;
  readonly load: () => Promise<(event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>>;
}

export interface LocalWorkerOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly queues: { readonly events: string; readonly tasks: string; readonly reduce: string };
  /** Seconds a received batch stays invisible (the Lambda function timeout's role). */
  readonly visibilityTimeout: number;
  readonly log?: (line: string) => void;
}

export interface LocalWorker {
  /** Stops polling, waits for the batches in hand to finish. */
  stop(): Promise<void>;
}

async function queueUrl(sqs: SQSClient, name: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`queue ${name} not found`);
  return QueueUrl;
}

/**
 * `pseudolabel worker`: runs the Lambda handlers in this process against the SQS queues, as Lambda's event
 * source mappings would: long polling, a batch per invocation, visibility timeout while it runs, and
 * ReportBatchItemFailures semantics (only the records the handler did not report as failed are deleted; the
 * others reappear after the visibility timeout, and after maxReceiveCount receives SQS moves them to the DLQ).
 * Several workers may run at once.
 */
export async function startLocalWorker(options: LocalWorkerOptions): Promise<LocalWorker> {
  const sqs = createSqsClient({ endpoint: options.endpoint, region: options.region });
  const urls = {
    events: await queueUrl(sqs, options.queues.events),
    tasks: await queueUrl(sqs, options.queues.tasks),
    reduce: await queueUrl(sqs, options.queues.reduce),
    tasksDlq: await queueUrl(sqs, `${options.queues.tasks}-dlq`),
    reduceDlq: await queueUrl(sqs, `${options.queues.reduce}-dlq`),
  };
  // The handlers read their resources from the environment at import, as in Lambda.
  Object.assign(process.env, {
    PSEUDOLABEL_BUCKET: options.bucket,
    PSEUDOLABEL_TASKS_QUEUE_URL: urls.tasks,
    PSEUDOLABEL_REDUCE_QUEUE_URL: urls.reduce,
    PSEUDOLABEL_TASKS_DLQ_URL: urls.tasksDlq,
    PSEUDOLABEL_REDUCE_DLQ_URL: urls.reduceDlq,
    AWS_ENDPOINT_URL: options.endpoint,
    AWS_REGION: options.region,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  });
  const mappings: Mapping[] = [
    { queue: urls.events, batchSize: 10, load: async () => (await import('../onObjectCreated.ts')).handler },
    { queue: urls.tasks, batchSize: 1, load: async () => (await import('../worker.ts')).handler },
    { queue: urls.reduce, batchSize: 1, load: async () => (await import('../reducer.ts')).handler },
  ];
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const consumers: Consumer[] = [];
  for (const mapping of mappings) {
    const handler = await mapping.load();
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: mapping.queue, AttributeNames: ['QueueArn'] }),
    );
    const arn = Attributes?.QueueArn ?? mapping.queue;
    const consumer = Consumer.create({
      queueUrl: mapping.queue,
      sqs,
      batchSize: mapping.batchSize,
      visibilityTimeout: options.visibilityTimeout,
      waitTimeSeconds: 1,
      pollingWaitTimeMs: 0,
      attributeNames: ['All'],
      messageSystemAttributeNames: ['All'],
      handleMessageBatch: async (messages: Message[]) => {
        inFlight++;
        try {
          const response = await handler(sqsEventOf(messages, arn, options.region), {} as Context);
          const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
          return messages.filter((m) => !failed.has(m.MessageId ?? ''));
        } catch (error) {
          options.log?.(`batch failed, left for redelivery: ${error instanceof Error ? error.message : error}`);
          return [];
        } finally {
          inFlight--;
          if (inFlight === 0) idle?.();
        }
      },
    });
    consumer.on('error', (error) => options.log?.(`sqs error: ${error.message}`));
    consumer.start();
    consumers.push(consumer);
  }
  return {
    async stop() {
      for (const consumer of consumers) consumer.stop();
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
    },
  };
}
