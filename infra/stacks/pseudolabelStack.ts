import { CfnOutput, Duration, LegacyStackSynthesizer, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TASK_ALLOCATOR_ENV } from '../../lib/hosts/allocatorEnv.ts';
import { LOCALSTACK_STACK_TAG, type PseudolabelConfig, type QueueName } from '../config.ts';
import { Alarms, type HandlerMetricAlarm } from '../constructs/alarms.ts';
import { DataBucket } from '../constructs/dataBucket.ts';
import { DEAD_LETTER_CONSUMER_TIMEOUT, DeadLetterConsumer } from '../constructs/deadLetterConsumer.ts';
import { DeadlineWatch } from '../constructs/deadlineWatch.ts';
import { FunctionFactory } from '../constructs/functionFactory.ts';
import { IncomingNotification } from '../constructs/incomingNotification.ts';
import { ENV, PipelineFunctions } from '../constructs/pipelineFunctions.ts';
import { RetrainSchedule } from '../constructs/retrainSchedule.ts';
import { consumerVisibilityTimeout, TaskQueues } from '../constructs/taskQueues.ts';

/** The handlers' metrics (lib/hosts/serverless/metrics.ts) that alarm when > 0. */
const HANDLER_METRIC_ALARMS: readonly HandlerMetricAlarm[] = [
  {
    id: 'InvalidOptions',
    description: 'an uploaded pseudolabel.json had invalid options (a failed run was recorded)',
    metricName: 'InvalidOptions',
    service: 'pseudolabel-on-object-created',
  },
  {
    id: 'DeadLetteredTasks',
    description: 'a task was dead-lettered and its run marked failed',
    metricName: 'DeadLetteredTasks',
    service: 'pseudolabel-dead-letters',
  },
  {
    id: 'RunsPastDeadline',
    description: 'a run is still running past its deadline (stalled)',
    metricName: 'RunsPastDeadline',
    service: 'pseudolabel-deadline-watch',
  },
];

export interface PseudolabelStackProps extends StackProps {
  readonly config: PseudolabelConfig;
}

/** The function that consumes each queue; its timeout sets the queue's visibility timeout. */
const CONSUMER_OF = { events: 'onObjectCreated', tasks: 'worker', reduce: 'reducer' } as const;

/**
 * pseudolabel on AWS: the data bucket, the events/tasks/reduce queues with dead-letter queues, the S3
 * notification for incoming/, the dead-letter alarms, and (unless config.localstack) the Lambda functions, the
 * retraining schedule and the function error alarms. In LocalStack mode only the data plane is deployed, its
 * resources tagged with the stack name (LOCALSTACK_STACK_TAG), and `pseudolabel worker` consumes the queues.
 */
export class PseudolabelStack extends Stack {
  readonly data: DataBucket;
  readonly queues: TaskQueues;
  readonly functions?: PipelineFunctions;
  readonly deadLetterConsumer?: DeadLetterConsumer;
  readonly deadlineWatch?: DeadlineWatch;

  constructor(scope: Construct, id: string, props: PseudolabelStackProps) {
    // LocalStack: the legacy synthesizer deploys the (small, asset-free) template inline, without the bootstrap
    // stack's bucket, roles and version check, so `cdklocal deploy` needs no `cdklocal bootstrap` first.
    super(scope, id, {
      ...(props.config.localstack ? { synthesizer: new LegacyStackSynthesizer() } : {}),
      ...props,
    });
    const { config } = props;
    const allowLambda = !config.localstack;
    if (config.localstack) {
      // `pseudolabel localstack up --provision cdk` tells the resources of this stack from same-named ones that
      // were provisioned directly (which a CloudFormation create would fail on, or silently adopt).
      Tags.of(this).add(LOCALSTACK_STACK_TAG, this.stackName);
    }

    this.data = new DataBucket(this, 'Data', {
      bucketName: config.bucketName,
      intermediateExpiration: Duration.days(config.intermediateExpirationDays),
      accessLogExpiration: Duration.days(config.accessLogExpirationDays),
      destroyOnRemoval: config.destroyOnRemoval,
      allowCustomResources: allowLambda,
    });

    const visibility = (queue: QueueName) =>
      consumerVisibilityTimeout(
        Duration.seconds(config.functions[CONSUMER_OF[queue]].timeoutSeconds),
        Duration.seconds(config.consumers[queue].maxBatchingWindowSeconds),
      );
    this.queues = new TaskQueues(this, 'Queues', {
      visibilityTimeouts: { events: visibility('events'), tasks: visibility('tasks'), reduce: visibility('reduce') },
      deadLetterVisibilityTimeout: consumerVisibilityTimeout(DEAD_LETTER_CONSUMER_TIMEOUT, Duration.seconds(0)),
      namePrefix: config.localstack ? config.resourcePrefix : undefined,
    });

    new IncomingNotification(this, 'IncomingNotification', {
      bucket: this.data.bucket,
      queue: this.queues.events.queue,
      allowCustomResources: allowLambda,
    });

    if (allowLambda) {
      const factory = new FunctionFactory({
        environment: {
          [ENV.bucket]: this.data.bucket.bucketName,
          [ENV.tasksQueueUrl]: this.queues.tasks.queue.queueUrl,
          [ENV.reduceQueueUrl]: this.queues.reduce.queue.queueUrl,
          // The host's bounds of a run (lib/pipeline/runLimits.ts): set here, never by a run's options.
          PSEUDOLABEL_MAX_SHARDS: String(config.maxShards),
          PSEUDOLABEL_MAX_COLUMNS: String(config.maxColumns),
          // freed shard buffers go back to the system (lib/hosts/allocatorEnv.ts)
          ...TASK_ALLOCATOR_ENV,
          [ENV.workerMemoryMb]: String(config.functions.worker.memoryMb),
          [ENV.reducerMemoryMb]: String(config.functions.reducer.memoryMb),
        },
        logRetention: config.logRetentionDays,
        logRemovalPolicy: config.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      });
      const functions = new PipelineFunctions(this, 'Functions', {
        factory,
        bucket: this.data.bucket,
        queues: this.queues,
        functions: config.functions,
        consumers: config.consumers,
      });
      this.functions = functions;
      this.deadLetterConsumer = new DeadLetterConsumer(this, 'DeadLetterConsumer', {
        factory,
        bucket: this.data.bucket,
        deadLetterQueues: [this.queues.tasks.deadLetterQueue, this.queues.reduce.deadLetterQueue],
      });
      this.deadlineWatch = new DeadlineWatch(this, 'DeadlineWatch', { factory, bucket: this.data.bucket });
      new RetrainSchedule(this, 'RetrainSchedule', {
        schedule: config.schedule,
        datasets: config.datasets,
        target: functions.scheduled,
      });
    }
    // Without functions (LocalStack) the dead-letter alarms remain: CloudWatch alarms need no Lambda.
    const alarms = new Alarms(this, 'Alarms', {
      deadLetterQueues: this.queues.all().map(([name, q]) => [name, q.deadLetterQueue] as const),
      // On AWS: a queue whose oldest message waits over an hour is not being drained.
      queues: allowLambda ? this.queues.all().map(([name, q]) => [name, q.queue] as const) : [],
      functions: [
        ...(this.functions?.all() ?? []),
        ...(this.deadLetterConsumer ? [['deadLetters', this.deadLetterConsumer.function] as const] : []),
        ...(this.deadlineWatch ? [['deadlineWatch', this.deadlineWatch.function] as const] : []),
      ],
      handlerMetrics: allowLambda ? HANDLER_METRIC_ALARMS : [],
      topicArn: config.alarmTopicArn,
      createTopic: allowLambda,
    });
    if (alarms.topic) new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topic.topicArn });

    new CfnOutput(this, 'BucketName', { value: this.data.bucket.bucketName });
    new CfnOutput(this, 'AccessLogsBucketName', { value: this.data.accessLogsBucket.bucketName });
    for (const [name, q] of this.queues.all()) {
      const Name = name.charAt(0).toUpperCase() + name.slice(1);
      new CfnOutput(this, `${Name}QueueUrl`, { value: q.queue.queueUrl });
      new CfnOutput(this, `${Name}DeadLetterQueueUrl`, { value: q.deadLetterQueue.queueUrl });
    }
  }
}
