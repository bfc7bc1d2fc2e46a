import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createSqsClient } from '../../adapters/awsClients.ts';
import {
  maxReceiveCountOf,
  queueUrlOf,
  type RunningMapping,
  startEventSourceMapping,
} from '../../adapters/sqsEventSource.ts';

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

/** Seconds a batch of dead letters stays invisible while its runs are marked failed. */
const DEAD_LETTER_VISIBILITY_TIMEOUT_SECONDS = 30;

/** Fault injection: SIGKILL this process when a received message is a task of `stage`. */
function killOnReceive(bodies: readonly string[], stage: string): void {
  for (const text of bodies) {
    let body: { stage?: unknown } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      continue;
    }
    if (body?.stage === stage) process.kill(process.pid, 'SIGKILL');
  }
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
    events: await queueUrlOf(sqs, options.queues.events),
    tasks: await queueUrlOf(sqs, options.queues.tasks),
    reduce: await queueUrlOf(sqs, options.queues.reduce),
    tasksDlq: await queueUrlOf(sqs, `${options.queues.tasks}-dlq`),
    reduceDlq: await queueUrlOf(sqs, `${options.queues.reduce}-dlq`),
  };
  // The tasks and reduce queues share one redrive policy; the handlers mark a run failed on a task's last receive.
  const maxReceiveCount = (await maxReceiveCountOf(sqs, urls.tasks)) ?? (await maxReceiveCountOf(sqs, urls.reduce));
  // The handlers read their resources from the environment when they are built, as in Lambda at import.
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
      load: async () => (await import('./handlers.ts')).objectCreatedHandler(),
    },
    {
      queue: urls.tasks,
      batchSize: 1,
      batchingWindowSeconds: 0,
      visibilityTimeout: options.visibilityTimeout,
      load: async () => (await import('./handlers.ts')).shardTaskHandler(),
      carriesTasks: true,
    },
    {
      queue: urls.reduce,
      batchSize: 1,
      batchingWindowSeconds: 0,
      visibilityTimeout: options.visibilityTimeout,
      load: async () => (await import('./handlers.ts')).reduceStepHandler(),
      carriesTasks: true,
    },
    // The dead-letter consumer (functions/deadLetters.ts in Lambda): marks the run of a dead-lettered task failed.
    ...[urls.tasksDlq, urls.reduceDlq].map(
      (queue): Mapping => ({
        queue,
        batchSize: 10,
        batchingWindowSeconds: 0,
        visibilityTimeout: DEAD_LETTER_VISIBILITY_TIMEOUT_SECONDS,
        load: async () => (await import('./handlers.ts')).deadLetterHandler(),
      }),
    ),
  ];
  const running: RunningMapping[] = [];
  for (const mapping of mappings) {
    const handler = await mapping.load();
    const killStage = mapping.carriesTasks ? options.killOnReceiveOf : undefined;
    running.push(
      await startEventSourceMapping(sqs, {
        queueUrl: mapping.queue,
        region: options.region,
        batchSize: mapping.batchSize,
        batchingWindowSeconds: mapping.batchingWindowSeconds,
        visibilityTimeout: mapping.visibilityTimeout,
        handler: (event) => handler(event, {} as Context),
        onReceive: killStage === undefined ? undefined : (bodies) => killOnReceive(bodies, killStage),
        log: options.log,
      }),
    );
  }
  return {
    async stop() {
      await Promise.all(running.map((mapping) => mapping.stop()));
    },
  };
}
