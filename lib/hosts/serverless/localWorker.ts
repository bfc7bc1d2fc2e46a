import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Consumer } from 'sqs-consumer';
import { createSqsClient } from '../../adapters/awsClients.ts';
import { sqsEventOf } from './sqsEvent.ts';

/** One event source mapping: a queue, the handler it invokes, the batch size and the batching window. */
interface Mapping {
  readonly queue: string;
  readonly batchSize: number;
  /** Seconds to keep gathering records into a batch that is not full (MaximumBatchingWindowInSeconds). */
  readonly batchingWindowSeconds: number;
  /** Seconds a received batch stays invisible; longer than the batching window plus the handler's run. */
  readonly visibilityTimeout: number;
  readonly load: () => Promise<(event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>>;
  /** A tasks or reduce queue (where fault injection applies), not an events or dead-letter queue. */
  readonly carriesTasks?: boolean;
}

export interface LocalWorkerOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly queues: { readonly events: string; readonly tasks: string; readonly reduce: string };
  /** Seconds a received batch of the tasks or reduce queue stays invisible (the Lambda function timeout's role). */
  readonly visibilityTimeout: number;
  /** The same for the events queue (default 60 s, its provisioned timeout): it must outlast the batching window. */
  readonly eventsVisibilityTimeout?: number;
  /**
   * Batching window of the events queue, seconds: default 5, as the deployed mapping (infra/config.ts). It is what
   * gathers the notifications of a burst of uploads into one invocation, so that the run it starts lists every file.
   */
  readonly eventsBatchingWindowSeconds?: number;
  readonly log?: (line: string) => void;
  /**
   * Fault injection (tests; PSEUDOLABEL_FAULT_KILL_STAGE for `pseudolabel worker`): the process kills itself
   * (SIGKILL) whenever it receives a task of this stage from the tasks or reduce queue, as a worker running out
   * of memory or past its timeout would die, so the task reaches its DLQ without a handler seeing its last receive.
   */
  readonly killOnReceiveOf?: string;
}

export interface LocalWorker {
  /** Stops polling, waits for the batches in hand to finish. */
  stop(): Promise<void>;
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

/**
 * The maxReceiveCount of a queue's redrive policy (what the CDK stack passes to the Lambdas as
 * PSEUDOLABEL_MAX_RECEIVE_COUNT), or undefined when it has none.
 */
async function maxReceiveCountOf(sqs: SQSClient, queueUrl: string): Promise<number | undefined> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  if (!Attributes?.RedrivePolicy) return undefined;
  const count = Number((JSON.parse(Attributes.RedrivePolicy) as { maxReceiveCount?: unknown }).maxReceiveCount);
  return Number.isInteger(count) && count >= 1 ? count : undefined;
}

/** Seconds a batch of dead letters stays invisible while its runs are marked failed. */
const DEAD_LETTER_VISIBILITY_TIMEOUT_SECONDS = 30;

/** Fault injection: SIGKILL this process when a received message is a task of `stage`. */
function killOnReceive(received: readonly Message[], stage: string): void {
  for (const message of received) {
    let body: { stage?: unknown } | undefined;
    try {
      body = JSON.parse(message.Body ?? '');
    } catch {
      continue;
    }
    if (body?.stage === stage) process.kill(process.pid, 'SIGKILL');
  }
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
  // The tasks and reduce queues share one redrive policy; the handlers mark a run failed on a task's last receive.
  const maxReceiveCount = (await maxReceiveCountOf(sqs, urls.tasks)) ?? (await maxReceiveCountOf(sqs, urls.reduce));
  // The handlers read their resources from the environment at import, as in Lambda.
  Object.assign(process.env, {
    ...(maxReceiveCount === undefined || process.env.PSEUDOLABEL_MAX_RECEIVE_COUNT
      ? {}
      : { PSEUDOLABEL_MAX_RECEIVE_COUNT: String(maxReceiveCount) }),
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
    // Metrics are EMF lines that CloudWatch Logs reads in Lambda; here nothing reads stdout, so Powertools Metrics
    // publishes nothing unless POWERTOOLS_METRICS_DISABLED=false asks for the lines (lib/hosts/serverless/metrics.ts).
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
  });
  const mappings: Mapping[] = [
    {
      queue: urls.events,
      batchSize: 10,
      batchingWindowSeconds: options.eventsBatchingWindowSeconds ?? 5,
      visibilityTimeout: options.eventsVisibilityTimeout ?? 60,
      load: async () => (await import('../../../functions/onObjectCreated.ts')).handler,
    },
    {
      queue: urls.tasks,
      batchSize: 1,
      batchingWindowSeconds: 0,
      visibilityTimeout: options.visibilityTimeout,
      load: async () => (await import('../../../functions/worker.ts')).handler,
      carriesTasks: true,
    },
    {
      queue: urls.reduce,
      batchSize: 1,
      batchingWindowSeconds: 0,
      visibilityTimeout: options.visibilityTimeout,
      load: async () => (await import('../../../functions/reducer.ts')).handler,
      carriesTasks: true,
    },
    // The dead-letter consumer (functions/deadLetters.ts): marks the run of a dead-lettered task failed.
    ...[urls.tasksDlq, urls.reduceDlq].map(
      (queue): Mapping => ({
        queue,
        batchSize: 10,
        batchingWindowSeconds: 0,
        visibilityTimeout: DEAD_LETTER_VISIBILITY_TIMEOUT_SECONDS,
        load: async () => (await import('../../../functions/deadLetters.ts')).handler,
      }),
    ),
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
        if (mapping.carriesTasks && options.killOnReceiveOf !== undefined) {
          killOnReceive(received, options.killOnReceiveOf);
        }
        inFlight++;
        try {
          const messages =
            mapping.batchingWindowSeconds > 0
              ? await gatherBatch(
                  sqs,
                  mapping.queue,
                  received,
                  mapping.batchSize,
                  mapping.batchingWindowSeconds,
                  mapping.visibilityTimeout,
                )
              : received;
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
