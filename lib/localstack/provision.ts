import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  type QueueConfiguration,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type QueueAttributeName,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { createS3Client, createSqsClient } from '../adapters/awsClients.ts';
import type { LocalstackConfig, QueueConfig } from './localstackConfig.ts';

/** Id of the bucket notification that sends `incoming/` uploads to the events queue. */
export const INCOMING_NOTIFICATION_ID = 'pseudolabel-incoming';

type QueueKind = 'events' | 'tasks' | 'reduce';

/** What `provision` created or found. */
export interface ProvisionedResources {
  readonly bucket: string;
  readonly queueUrls: Readonly<Record<QueueKind, string>>;
  readonly deadLetterQueueUrls: Readonly<Record<QueueKind, string>>;
}

export interface ProvisionClients {
  readonly s3?: S3Client;
  readonly sqs?: SQSClient;
}

/**
 * Creates (or brings up to date) the LocalStack resources: the bucket; per queue kind a DLQ, then the queue with
 * its visibility timeout and RedrivePolicy (maxReceiveCount); a policy letting S3 send to the events queue; and
 * the bucket notification s3:ObjectCreated:* under `incoming/` -> events queue. Idempotent: existing queues get
 * their attributes set again, and the notification is only written when it differs, because each write makes
 * S3 (and LocalStack) send an `s3:TestEvent` message to the queue.
 */
export async function provision(
  config: LocalstackConfig,
  clients: ProvisionClients = {},
): Promise<ProvisionedResources> {
  const s3 = clients.s3 ?? createS3Client({ endpoint: config.endpoint, region: config.region });
  const sqs = clients.sqs ?? createSqsClient({ endpoint: config.endpoint, region: config.region });
  await ensureBucket(s3, config.bucket, config.region);

  const queueUrls = {} as Record<QueueKind, string>;
  const deadLetterQueueUrls = {} as Record<QueueKind, string>;
  for (const kind of ['events', 'tasks', 'reduce'] as const) {
    const { url, deadLetterUrl } = await ensureQueueWithDlq(sqs, config.queues[kind], config.maxReceiveCount);
    queueUrls[kind] = url;
    deadLetterQueueUrls[kind] = deadLetterUrl;
  }

  const eventsArn = await queueArn(sqs, queueUrls.events);
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrls.events,
      Attributes: { Policy: JSON.stringify(s3SendPolicy(eventsArn, config.bucket)) },
    }),
  );
  await ensureNotification(s3, config.bucket, {
    Id: INCOMING_NOTIFICATION_ID,
    QueueArn: eventsArn,
    Events: ['s3:ObjectCreated:*'],
    Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: config.incomingPrefix }] } },
  });
  return { bucket: config.bucket, queueUrls, deadLetterQueueUrls };
}

async function ensureBucket(s3: S3Client, bucket: string, region: string): Promise<void> {
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    );
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'BucketAlreadyOwnedByYou') throw error;
  }
}

/** Creates the DLQ, then the queue redriving to it; for existing queues, sets the attributes again. */
export async function ensureQueueWithDlq(
  sqs: SQSClient,
  queue: QueueConfig,
  maxReceiveCount: number,
): Promise<{ url: string; deadLetterUrl: string }> {
  const deadLetterUrl = await ensureQueue(sqs, queue.deadLetterName, { MessageRetentionPeriod: '1209600' });
  const deadLetterArn = await queueArn(sqs, deadLetterUrl);
  const url = await ensureQueue(sqs, queue.name, {
    VisibilityTimeout: String(queue.visibilityTimeout),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount }),
  });
  return { url, deadLetterUrl };
}

async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Partial<Record<QueueAttributeName, string>>,
): Promise<string> {
  let url: string | undefined;
  try {
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    if (!isMissingQueue(error)) throw error;
  }
  if (url !== undefined) {
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
    return url;
  }
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (created.QueueUrl === undefined) throw new Error(`CreateQueue returned no URL for ${name}`);
  return created.QueueUrl;
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const response = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = response.Attributes?.QueueArn;
  if (arn === undefined) throw new Error(`no QueueArn for ${url}`);
  return arn;
}

function isMissingQueue(error: unknown): boolean {
  const name = error instanceof Error ? error.name : '';
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}

/** Queue policy letting the bucket's S3 notifications send to the queue. */
function s3SendPolicy(queueArnValue: string, bucket: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AllowS3Notifications',
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArnValue,
        Condition: { ArnLike: { 'aws:SourceArn': `arn:aws:s3:::${bucket}` } },
      },
    ],
  };
}

/**
 * Writes the queue notification (keeping any others) unless an identical one is already there. One that differs
 * only in its Id (as the CDK stack's, `localstack up --provision cdk`, has a generated one) is replaced, so the
 * queue never gets each event twice.
 */
async function ensureNotification(s3: S3Client, bucket: string, wanted: QueueConfiguration): Promise<void> {
  const current = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  const existing = current.QueueConfigurations ?? [];
  if (existing.some((candidate) => sameQueueConfiguration(candidate, wanted))) return;
  const others = existing.filter(
    (candidate) => candidate.Id !== wanted.Id && !sameQueueConfiguration({ ...candidate, Id: wanted.Id }, wanted),
  );
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: [...others, wanted],
        TopicConfigurations: current.TopicConfigurations,
        LambdaFunctionConfigurations: current.LambdaFunctionConfigurations,
        EventBridgeConfiguration: current.EventBridgeConfiguration,
      },
    }),
  );
}

function sameQueueConfiguration(a: QueueConfiguration, b: QueueConfiguration): boolean {
  const rules = (c: QueueConfiguration) =>
    (c.Filter?.Key?.FilterRules ?? [])
      .map((rule) => `${String(rule.Name).toLowerCase()}=${rule.Value}`)
      .sort()
      .join('&');
  const events = (c: QueueConfiguration) => [...(c.Events ?? [])].sort().join(',');
  return a.Id === b.Id && a.QueueArn === b.QueueArn && events(a) === events(b) && rules(a) === rules(b);
}
