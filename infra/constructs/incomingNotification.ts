import { Aws, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type Bucket, type CfnBucket, EventType } from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BucketNameRequiredError } from '../errors.ts';
import { INCOMING_PREFIX } from './dataBucket.ts';

export interface IncomingNotificationProps {
  readonly bucket: Bucket;
  readonly queue: Queue;
  /**
   * True (AWS): `Bucket.addEventNotification`, which CDK implements with a custom resource backed by a Lambda
   * function. False (LocalStack, where a Lambda function fails the stack): the notification is set on the L1
   * CfnBucket, which then needs a physical bucket name (see below).
   */
  readonly allowCustomResources: boolean;
}

/** Sends an S3 ObjectCreated notification for every object under incoming/ to the events queue. */
export class IncomingNotification extends Construct {
  constructor(scope: Construct, id: string, props: IncomingNotificationProps) {
    super(scope, id);
    if (props.allowCustomResources) {
      props.bucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(props.queue), {
        prefix: INCOMING_PREFIX,
      });
      acknowledgeNotificationsHandler(Stack.of(this));
    } else {
      this.setOnCfnBucket(props.bucket, props.queue);
    }
  }

  /**
   * S3 checks on PutBucketNotificationConfiguration that it may send to the queue, so the queue policy must exist
   * before the bucket's notification. The policy names the bucket by its ARN; taking the ARN from the bucket
   * resource would make bucket and policy depend on each other, so it is built from the physical name instead.
   */
  private setOnCfnBucket(bucket: Bucket, queue: Queue): void {
    const cfnBucket = bucket.node.defaultChild as CfnBucket;
    const bucketName = cfnBucket.bucketName;
    if (bucketName === undefined) {
      throw new BucketNameRequiredError();
    }
    const { policyDependable } = queue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowS3IncomingNotifications',
        principals: [new ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [queue.queueArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:s3:::${bucketName}` },
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        },
      }),
    );
    cfnBucket.notificationConfiguration = {
      queueConfigurations: [
        {
          event: 's3:ObjectCreated:*',
          queue: queue.queueArn,
          filter: { s3Key: { rules: [{ name: 'prefix', value: INCOMING_PREFIX }] } },
        },
      ],
    };
    if (policyDependable !== undefined) cfnBucket.node.addDependency(policyDependable);
  }
}

/**
 * CDK's singleton BucketNotificationsHandler (a Lambda function at the stack's root) writes the notification
 * configuration. Its role and runtime are fixed by CDK, so their findings are acknowledged here with the reasons
 * (its other permission, s3:PutBucketNotification, is scoped to the bucket).
 */
function acknowledgeNotificationsHandler(stack: Stack): void {
  const handler = stack.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
  if (handler === undefined) return;
  const validations = Validations.of(handler);
  validations.acknowledge(
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'CDK-owned BucketNotificationsHandler: its role uses the basic execution managed policy (logs only) ' +
        'and is not configurable.',
    },
    {
      id: 'AwsSolutions-L1',
      reason: 'CDK-owned BucketNotificationsHandler: its runtime is chosen by aws-cdk-lib and moves with its upgrades.',
    },
  );
}
