import { randomUUID } from 'node:crypto';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DeleteQueueCommand, PurgeQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { createS3Client, createSqsClient } from '../../../../lib/adapters/awsClients.ts';
import { type ProvisionedResources, provision } from '../../../../lib/adapters/awsResources.ts';
import { type LocalstackConfig, localstackConfig } from '../../../../lib/localstack/localstackConfig.ts';

/**
 * A private copy of the serverless resources (bucket, events/tasks/reduce queues with their DLQs and the
 * `incoming/` notification), made by the same `provision()` as `pseudolabel localstack up`, under random names.
 * Workers started with `workerEnv()` serve it, so a test file neither sees nor disturbs anybody else's runs,
 * messages or workers on the default `pseudolabel-*` resources.
 */
export interface PrivateStack {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly queuePrefix: string;
  /** Visibility timeout of the tasks and reduce queues (seconds): how soon a killed worker's task reappears. */
  readonly visibilityTimeout: number;
  readonly config: LocalstackConfig;
  readonly resources: ProvisionedResources;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  /** Environment pointing `pseudolabel worker` at these resources. */
  workerEnv(): NodeJS.ProcessEnv;
  /** Empties the tasks and reduce queues and their DLQs. */
  purgeWorkQueues(): Promise<void>;
  /** Deletes the queues and the bucket with everything in it. */
  destroy(): Promise<void>;
}

export async function provisionPrivateStack(visibilityTimeout = 5): Promise<PrivateStack> {
  const endpoint = inject('localstackEndpoint');
  const region = inject('localstackRegion');
  const s3 = createS3Client({ endpoint, region });
  const sqs = createSqsClient({ endpoint, region });
  const id = randomUUID().slice(0, 8);
  const bucket = `pl-serverless-${id}`;
  const queuePrefix = `pl-serverless-${id}`;
  const config = localstackConfig({ endpoint, region, bucket, queuePrefix, visibilityTimeout });
  const resources = await provision(config, { s3, sqs });
  const workQueues = [
    resources.queueUrls.tasks,
    resources.queueUrls.reduce,
    resources.deadLetterQueueUrls.tasks,
    resources.deadLetterQueueUrls.reduce,
  ];
  return {
    endpoint,
    region,
    bucket,
    queuePrefix,
    visibilityTimeout,
    config,
    resources,
    s3,
    sqs,
    workerEnv: () => ({
      PSEUDOLABEL_BUCKET: bucket,
      PSEUDOLABEL_QUEUE_PREFIX: queuePrefix,
      PSEUDOLABEL_VISIBILITY_TIMEOUT: String(visibilityTimeout),
      AWS_REGION: region,
    }),
    async purgeWorkQueues() {
      await Promise.all(workQueues.map((QueueUrl) => sqs.send(new PurgeQueueCommand({ QueueUrl }))));
    },
    async destroy() {
      const urls = [...Object.values(resources.queueUrls), ...Object.values(resources.deadLetterQueueUrls)];
      await Promise.all(urls.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
      await emptyBucket(s3, bucket);
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    },
  };
}

async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const objects = (listed.Contents ?? []).map(({ Key }) => ({ Key }));
    if (objects.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
  }
}
