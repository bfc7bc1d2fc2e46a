import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketTaggingCommand,
  HeadBucketCommand,
  type LifecycleRule,
  type OwnershipControlsRule,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketLoggingCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutPublicAccessBlockCommand,
  type QueueConfiguration,
  type S3Client,
  type ServerSideEncryptionRule,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  type QueueAttributeName,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { createS3Client, createSqsClient } from './awsClients.ts';

/**
 * The bucket and queues of a deployment without CloudFormation (`pseudolabel localstack up`), created and checked
 * through the S3 and SQS APIs. The LocalStack tooling (lib/localstack) decides what to create; the SDK calls are
 * here, as all AWS access is in lib/adapters.
 */

/** The S3 API shapes of bucket settings (read from a CloudFormation template by lib/localstack/bucketSettings.ts). */
export type { LifecycleRule, LifecycleRuleFilter, Tag } from '@aws-sdk/client-s3';

/** Bucket settings set through the S3 API (applyBucketSettings), where CloudFormation did not set them. */
export interface BucketSettings {
  readonly logicalId: string;
  /** Physical bucket name. */
  readonly bucket: string;
  readonly lifecycleRules?: LifecycleRule[];
  readonly logging?: { readonly targetBucket: string; readonly targetPrefix: string };
  readonly encryptionRules?: ServerSideEncryptionRule[];
  readonly publicAccessBlock?: {
    BlockPublicAcls?: boolean;
    IgnorePublicAcls?: boolean;
    BlockPublicPolicy?: boolean;
    RestrictPublicBuckets?: boolean;
  };
  readonly ownershipRules?: OwnershipControlsRule[];
}

/** Sets the settings through the S3 API. Idempotent: each call replaces the bucket's whole configuration of its kind. */
export async function applyBucketSettings(s3: S3Client, settings: readonly BucketSettings[]): Promise<void> {
  for (const s of settings) {
    const Bucket = s.bucket;
    if (s.encryptionRules !== undefined) {
      await s3.send(
        new PutBucketEncryptionCommand({ Bucket, ServerSideEncryptionConfiguration: { Rules: s.encryptionRules } }),
      );
    }
    if (s.publicAccessBlock !== undefined) {
      await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: s.publicAccessBlock }));
    }
    if (s.ownershipRules !== undefined) {
      await s3.send(new PutBucketOwnershipControlsCommand({ Bucket, OwnershipControls: { Rules: s.ownershipRules } }));
    }
    if (s.lifecycleRules !== undefined) {
      await s3.send(
        new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: s.lifecycleRules } }),
      );
    }
  }
  // Logging last: its target bucket's own settings are in place by then.
  for (const s of settings) {
    if (s.logging === undefined) continue;
    await s3.send(
      new PutBucketLoggingCommand({
        Bucket: s.bucket,
        BucketLoggingStatus: {
          LoggingEnabled: { TargetBucket: s.logging.targetBucket, TargetPrefix: s.logging.targetPrefix },
        },
      }),
    );
  }
}

/** One work queue and its dead-letter queue. */
export interface QueueConfig {
  readonly name: string;
  readonly deadLetterName: string;
  /** Seconds a received message stays invisible before it is redelivered. */
  readonly visibilityTimeout: number;
}

/** What `provision` creates (lib/localstack/localstackConfig.ts's LocalstackConfig is one). */
export interface ResourcesConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  /** Prefix whose ObjectCreated events go to the events queue. */
  readonly incomingPrefix: string;
  readonly queues: { readonly events: QueueConfig; readonly tasks: QueueConfig; readonly reduce: QueueConfig };
  /** Receives before a message moves to its DLQ (redrive policy). */
  readonly maxReceiveCount: number;
}

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
  config: ResourcesConfig,
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

/** Whether the bucket exists (HeadBucket). */
export async function bucketExists(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    if (httpStatus(error) === 404) return false;
    throw error;
  }
}

/** The bucket's tags: empty when untagged, null when there is no such bucket. */
export async function bucketTags(s3: S3Client, bucket: string): Promise<Record<string, string> | null> {
  if (!(await bucketExists(s3, bucket))) return null;
  try {
    const tagging = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    return Object.fromEntries((tagging.TagSet ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
  } catch (error) {
    if (error instanceof Error && error.name === 'NoSuchTagSet') return {};
    throw error;
  }
}

/** The URL of the queue named `name`, or undefined when there is none. */
export async function findQueueUrl(sqs: SQSClient, name: string): Promise<string | undefined> {
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    if (isMissingQueue(error)) return undefined;
    throw error;
  }
}

/** The queue's tags: empty when untagged, null when there is no such queue. */
export async function queueTags(sqs: SQSClient, name: string): Promise<Record<string, string> | null> {
  const url = await findQueueUrl(sqs, name);
  if (url === undefined) return null;
  return (await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {};
}

/** Messages waiting in the queue at `url` (visible) and received but not yet deleted (in flight). */
export async function queueDepth(sqs: SQSClient, url: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}
