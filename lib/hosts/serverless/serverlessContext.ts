import { createS3Client, createSqsClient, type S3Client, type SQSClient } from '../../adapters/awsClients.ts';
import { S3ObjectStore } from '../../adapters/s3ObjectStore.ts';
import { SqsTaskQueue } from '../../adapters/sqsTaskQueue.ts';
import { storeFromUrl } from '../../adapters/storeFromUrl.ts';
import { type HostCapacity, lambdaHost } from '../../pipeline/capacity.ts';
import { INTERMEDIATE_TAG, isIntermediate } from '../../pipeline/keys.ts';
import type { StageContext, StageLog } from '../../pipeline/stageContext.ts';

/** The resources a handler works with, from its environment (set by the CDK stack or `pseudolabel worker`). */
export interface ServerlessSettings {
  readonly bucket: string;
  readonly tasksQueueUrl: string;
  readonly reduceQueueUrl: string;
  readonly tasksDlqUrl?: string;
  readonly reduceDlqUrl?: string;
  /**
   * The queues' maxReceiveCount (their redrive policy): on a message's receive number maxReceiveCount, a failure is
   * its last, after which SQS moves it to the DLQ. From PSEUDOLABEL_MAX_RECEIVE_COUNT, default 3.
   */
  readonly maxReceiveCount: number;
  /**
   * Seconds a task that failed (retryably) on its 1st, 2nd, 3rd... receive stays invisible before SQS delivers it
   * again (the last value for any later receive), instead of the queue's whole visibility timeout. From
   * PSEUDOLABEL_RETRY_DELAYS (comma-separated seconds), default 30, 120, 600.
   */
  readonly retryDelaysSeconds: readonly number[];
  /**
   * What a worker and a reducer Lambda may use (lib/pipeline/capacity.ts), recorded in the runs these functions
   * start: PSEUDOLABEL_WORKER_MEMORY_MB and PSEUDOLABEL_REDUCER_MEMORY_MB (set by the stack from its config),
   * default 3,008 each, the stack's default.
   */
  readonly host?: HostCapacity;
}

/** The default retry back-off: 30 s, 2 min, 10 min. */
export const DEFAULT_RETRY_DELAYS_SECONDS: readonly number[] = [30, 120, 600];

/** The default maxReceiveCount of the tasks and reduce queues (infra and LocalStack provisioning use 3). */
export const DEFAULT_MAX_RECEIVE_COUNT = 3;

/**
 * Reads PSEUDOLABEL_BUCKET, PSEUDOLABEL_TASKS_QUEUE_URL, PSEUDOLABEL_REDUCE_QUEUE_URL, the two DLQ URLs and
 * PSEUDOLABEL_MAX_RECEIVE_COUNT.
 */
export function serverlessSettings(env: NodeJS.ProcessEnv = process.env): ServerlessSettings {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  return {
    bucket: required('PSEUDOLABEL_BUCKET'),
    tasksQueueUrl: required('PSEUDOLABEL_TASKS_QUEUE_URL'),
    reduceQueueUrl: required('PSEUDOLABEL_REDUCE_QUEUE_URL'),
    ...(env.PSEUDOLABEL_TASKS_DLQ_URL ? { tasksDlqUrl: env.PSEUDOLABEL_TASKS_DLQ_URL } : {}),
    ...(env.PSEUDOLABEL_REDUCE_DLQ_URL ? { reduceDlqUrl: env.PSEUDOLABEL_REDUCE_DLQ_URL } : {}),
    maxReceiveCount: maxReceiveCountOf(env.PSEUDOLABEL_MAX_RECEIVE_COUNT),
    retryDelaysSeconds: retryDelaysOf(env.PSEUDOLABEL_RETRY_DELAYS),
    host: lambdaHost(memoryOf(env, 'PSEUDOLABEL_WORKER_MEMORY_MB'), memoryOf(env, 'PSEUDOLABEL_REDUCER_MEMORY_MB')),
  };
}

function retryDelaysOf(value: string | undefined): readonly number[] {
  if (value === undefined || value.trim() === '') return DEFAULT_RETRY_DELAYS_SECONDS;
  const delays = value.split(',').map((part) => Number(part.trim()));
  if (!delays.every((delay) => Number.isInteger(delay) && delay >= 0 && delay <= 43_200)) {
    throw new Error(
      `environment variable PSEUDOLABEL_RETRY_DELAYS must be seconds (0-43200), comma-separated: ${value}`,
    );
  }
  return delays;
}

/** The stack's default Lambda memory for the worker and the reducer (infra/config.ts). */
const DEFAULT_FUNCTION_MEMORY_MB = 3008;

function memoryOf(env: NodeJS.ProcessEnv, name: string): number {
  const value = env[name];
  if (value === undefined || value.trim() === '') return DEFAULT_FUNCTION_MEMORY_MB;
  const mb = Number(value);
  if (!Number.isInteger(mb) || mb < 128)
    throw new Error(`environment variable ${name} must be an integer >= 128: ${value}`);
  return mb;
}

function maxReceiveCountOf(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_MAX_RECEIVE_COUNT;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`environment variable PSEUDOLABEL_MAX_RECEIVE_COUNT must be an integer >= 1: ${value}`);
  }
  return count;
}

export interface ServerlessClients {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
}

export function serverlessClients(): ServerlessClients {
  return { s3: createS3Client(), sqs: createSqsClient() };
}

/** The stage context over the bucket and the two queues. Inputs are read from the same bucket (s3://bucket). */
export function serverlessContext(
  settings: ServerlessSettings,
  clients: ServerlessClients,
  log: StageLog,
): StageContext {
  const store = new S3ObjectStore({
    bucket: settings.bucket,
    client: clients.s3,
    tags: (key) => (isIntermediate(key) ? INTERMEDIATE_TAG : undefined),
  });
  return {
    store,
    inputs: (root) => (root === `s3://${settings.bucket}` ? store : storeFromUrl(root, { s3Client: clients.s3 })),
    tasks: new SqsTaskQueue({ queue: settings.tasksQueueUrl, client: clients.sqs }),
    reduce: new SqsTaskQueue({ queue: settings.reduceQueueUrl, client: clients.sqs }),
    log,
  };
}
