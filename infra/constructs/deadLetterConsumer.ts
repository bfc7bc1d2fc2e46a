import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Bucket, CfnBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RUNS_PREFIX } from './dataBucket.ts';
import type { FunctionFactory } from './functionFactory.ts';

/** Timeout of the dead-letter consumer: it reads and writes one run.json per message. */
export const DEAD_LETTER_CONSUMER_TIMEOUT = Duration.seconds(60);

export interface DeadLetterConsumerProps {
  readonly factory: FunctionFactory;
  readonly bucket: Bucket;
  /** The dead-letter queues of the tasks and reduce queues (their messages are task messages). */
  readonly deadLetterQueues: readonly IQueue[];
}

/**
 * A Lambda function on each task dead-letter queue (functions/deadLetters.ts): a task whose worker died on every
 * receive reaches its DLQ without any handler seeing its last receive; this marks its run failed with the stage
 * and the reason. Least privilege: it lists the bucket (S3 answers a missing marker with 404 only to callers that
 * may list), reads runs/, and writes only runs/<runId>/run.json.
 */
export class DeadLetterConsumer extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: DeadLetterConsumerProps) {
    super(scope, id);
    const fn = props.factory.create(this, 'Function', {
      entry: 'functions/deadLetters.ts',
      description: 'pseudolabel: marks the run of a dead-lettered task failed, with its stage and reason',
      settings: { memoryMb: 256, timeoutSeconds: DEAD_LETTER_CONSUMER_TIMEOUT.toSeconds() },
    });
    const runObjects = props.bucket.arnForObjects(`${RUNS_PREFIX}*`);
    const runRecords = props.bucket.arnForObjects(`${RUNS_PREFIX}*/run.json`);
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.bucket.bucketArn] }));
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [runObjects] }));
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [runRecords] }));
    for (const queue of props.deadLetterQueues) {
      fn.addEventSource(new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }));
    }
    const bucketRef = `<${Stack.of(props.bucket).getLogicalId(props.bucket.node.defaultChild as CfnBucket)}.Arn>`;
    Validations.of(fn.role!).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${bucketRef}/${RUNS_PREFIX}*]`,
        reason: 'Reads run.json and completion markers under runs/: run ids and shard keys are created at run time.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${bucketRef}/${RUNS_PREFIX}*/run.json]`,
        reason: 'Writes only the run.json of the run a dead letter names; run ids are created at run time.',
      },
    );
    this.function = fn;
  }
}
