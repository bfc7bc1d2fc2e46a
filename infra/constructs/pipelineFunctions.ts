import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Bucket, CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { ConsumerSettings, FunctionSettings, PipelineFunctionName, QueueName } from '../config.ts';
import { DATASETS_PREFIX, INCOMING_PREFIX, RUNS_PREFIX } from './dataBucket.ts';
import type { FunctionFactory } from './functionFactory.ts';
import type { TaskQueues } from './taskQueues.ts';

/** Environment variable names the handlers read (lib/hosts/serverless/serverlessContext.ts). */
export const ENV = {
  bucket: 'PSEUDOLABEL_BUCKET',
  tasksQueueUrl: 'PSEUDOLABEL_TASKS_QUEUE_URL',
  reduceQueueUrl: 'PSEUDOLABEL_REDUCE_QUEUE_URL',
  tasksDlqUrl: 'PSEUDOLABEL_TASKS_DLQ_URL',
  reduceDlqUrl: 'PSEUDOLABEL_REDUCE_DLQ_URL',
  /** The worker's and the reducer's memory: runs record them, and the plan step refuses what cannot fit. */
  workerMemoryMb: 'PSEUDOLABEL_WORKER_MEMORY_MB',
  reducerMemoryMb: 'PSEUDOLABEL_REDUCER_MEMORY_MB',
} as const;

/** The dead-letter queue URL variable of each queue a handler may move poison messages from. */
const DLQ_ENV: Readonly<Partial<Record<QueueName, string>>> = { tasks: ENV.tasksDlqUrl, reduce: ENV.reduceDlqUrl };

interface FunctionRole {
  readonly entry: string;
  readonly description: string;
  /** The queue whose event source mapping invokes the function, if any. */
  readonly consumes?: QueueName;
  /** Queues the function sends to. */
  readonly sendsTo: readonly QueueName[];
  /**
   * Moves messages that can never succeed (invalid, unknown run) straight to the consumed queue's dead-letter
   * queue (lib/hosts/serverless/taskBatch.ts): gets that DLQ's URL in its environment and may send to it.
   */
  readonly movesPoisonToDeadLetter: boolean;
  /** Part of the worker -> reduce -> reducer -> tasks -> worker loop (see FunctionSpec.allowRecursiveLoop). */
  readonly inLoop: boolean;
  /**
   * datasets/: retrain reads the latest version; finalize publishes versions (reads and writes); starting a run
   * (its input order) and the shard tasks of an incremental run read the latest version's index.
   */
  readonly datasets: 'none' | 'read' | 'write';
}

/**
 * Who does what (lib/pipeline: startRun, fanIn). Every function lists the bucket (S3 answers a missing key with
 * 404 only to callers that may list the bucket, else 403, and the pipeline probes for markers and run.json, and
 * lists incoming/<dataset>/ and marker prefixes), reads incoming/ and runs/, and writes runs/; nothing in the S3
 * path deletes (intermediates expire by lifecycle). onObjectCreated and scheduled create run.json (put-if-absent;
 * an existing run is read back) and send its plan step to the reduce queue. The worker runs one shard task and,
 * having completed the last marker, sends the reduce step. The reducer runs plan/collect/propagate/reduce/finalize
 * and sends the next shard tasks or reduce step.
 */
const ROLES: Readonly<Record<PipelineFunctionName, FunctionRole>> = {
  onObjectCreated: {
    entry: 'functions/onObjectCreated.ts',
    description: 'pseudolabel: starts a run for files dropped under incoming/<dataset>/',
    consumes: 'events',
    sendsTo: ['reduce'],
    movesPoisonToDeadLetter: false,
    inLoop: false,
    datasets: 'read',
  },
  scheduled: {
    entry: 'functions/scheduled.ts',
    description: 'pseudolabel: retrains the datasets whose pseudolabel.json asks for it, when they changed',
    sendsTo: ['reduce'],
    movesPoisonToDeadLetter: false,
    inLoop: false,
    datasets: 'read',
  },
  worker: {
    entry: 'functions/worker.ts',
    description: 'pseudolabel: runs one shard task (ingest, cells, neighbors, edges, degrees, iterate, outcome, score)',
    consumes: 'tasks',
    sendsTo: ['reduce'],
    movesPoisonToDeadLetter: true,
    inLoop: true,
    datasets: 'read',
  },
  reducer: {
    entry: 'functions/reducer.ts',
    description:
      'pseudolabel: runs the plan, collect, calibrate, propagate, graph, converge, reduce and finalize steps',
    consumes: 'reduce',
    sendsTo: ['tasks', 'reduce'],
    movesPoisonToDeadLetter: true,
    inLoop: true,
    datasets: 'write',
  },
};

export interface PipelineFunctionsProps {
  readonly factory: FunctionFactory;
  readonly bucket: Bucket;
  readonly queues: TaskQueues;
  readonly functions: Readonly<Record<PipelineFunctionName, FunctionSettings>>;
  readonly consumers: Readonly<Record<QueueName, ConsumerSettings>>;
}

/** The four Lambda handlers, their least-privilege grants and their SQS event source mappings. */
export class PipelineFunctions extends Construct {
  readonly onObjectCreated: NodejsFunction;
  readonly scheduled: NodejsFunction;
  readonly worker: NodejsFunction;
  readonly reducer: NodejsFunction;

  constructor(scope: Construct, id: string, props: PipelineFunctionsProps) {
    super(scope, id);
    const make = (name: PipelineFunctionName, constructId: string) => this.build(name, constructId, props);
    this.onObjectCreated = make('onObjectCreated', 'OnObjectCreated');
    this.scheduled = make('scheduled', 'Scheduled');
    this.worker = make('worker', 'Worker');
    this.reducer = make('reducer', 'Reducer');
  }

  /** The four functions by name, in a fixed order. */
  all(): ReadonlyArray<readonly [PipelineFunctionName, NodejsFunction]> {
    return [
      ['onObjectCreated', this.onObjectCreated],
      ['scheduled', this.scheduled],
      ['worker', this.worker],
      ['reducer', this.reducer],
    ];
  }

  private build(name: PipelineFunctionName, constructId: string, props: PipelineFunctionsProps): NodejsFunction {
    const role = ROLES[name];
    const poisonFrom = role.movesPoisonToDeadLetter ? role.consumes : undefined;
    const deadLetter = poisonFrom === undefined ? undefined : props.queues[poisonFrom].deadLetterQueue;
    const dlqEnv = poisonFrom === undefined ? undefined : DLQ_ENV[poisonFrom];
    const fn = props.factory.create(this, constructId, {
      entry: role.entry,
      description: role.description,
      settings: props.functions[name],
      allowRecursiveLoop: role.inLoop,
      environment: deadLetter && dlqEnv ? { [dlqEnv]: deadLetter.queueUrl } : undefined,
    });
    grantObjectAccess(fn, props.bucket, role.datasets);
    for (const queue of role.sendsTo) props.queues[queue].queue.grantSendMessages(fn);
    deadLetter?.grantSendMessages(fn);
    if (role.consumes !== undefined) {
      const consumer = props.consumers[role.consumes];
      fn.addEventSource(
        new SqsEventSource(props.queues[role.consumes].queue, {
          batchSize: consumer.batchSize,
          maxBatchingWindow:
            consumer.maxBatchingWindowSeconds > 0 ? Duration.seconds(consumer.maxBatchingWindowSeconds) : undefined,
          maxConcurrency: consumer.maxConcurrency,
          reportBatchItemFailures: true,
        }),
      );
    }
    return fn;
  }
}

/** Explicit S3 actions (no `s3:*`-style wildcards) on the incoming/, runs/ and (by role) datasets/ prefixes only. */
function grantObjectAccess(fn: NodejsFunction, bucket: Bucket, datasets: FunctionRole['datasets']): void {
  const incomingObjects = bucket.arnForObjects(`${INCOMING_PREFIX}*`);
  const runObjects = bucket.arnForObjects(`${RUNS_PREFIX}*`);
  fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
  fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [incomingObjects, runObjects] }));
  fn.addToRolePolicy(
    new PolicyStatement({
      // PutObjectTagging: intermediates are written with the lifecycle tag (x-amz-tagging on PutObject).
      actions: ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload'],
      resources: [runObjects],
    }),
  );
  const datasetObjects = bucket.arnForObjects(`${DATASETS_PREFIX}*`);
  if (datasets !== 'none') {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [datasetObjects] }));
  }
  if (datasets === 'write') {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [datasetObjects] }),
    );
  }
  const bucketRef = `<${Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnBucket)}.Arn>`;
  const validations = Validations.of(fn.role!);
  if (datasets !== 'none') {
    validations.acknowledge({
      id: `AwsSolutions-IAM5[Resource::${bucketRef}/${DATASETS_PREFIX}*]`,
      reason:
        'Object-level actions scoped to the datasets/ prefix: dataset names and version numbers are made at run time.',
    });
  }
  validations.acknowledge(
    {
      id: `AwsSolutions-IAM5[Resource::${bucketRef}/${INCOMING_PREFIX}*]`,
      reason: 'Object-level actions scoped to the incoming/ prefix: the dataset folders are named by users.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::${bucketRef}/${RUNS_PREFIX}*]`,
      reason: 'Object-level actions scoped to the runs/ prefix: run ids and shard keys are created at run time.',
    },
  );
}
