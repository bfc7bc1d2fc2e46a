import { randomUUID } from 'node:crypto';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  DeleteQueueCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { createS3Client, createSqsClient } from '../../lib/adapters/awsClients.ts';
import { type ProvisionedResources, provision } from '../../lib/adapters/awsResources.ts';
import { type LocalstackConfig, localstackConfig } from '../../lib/localstack/localstackConfig.ts';

/** S3 and SQS clients for the LocalStack that globalSetup made sure of. */
export function localstackClients(): { s3: S3Client; sqs: SQSClient; endpoint: string } {
  const endpoint = inject('localstackEndpoint');
  const region = inject('localstackRegion');
  return { s3: createS3Client({ endpoint, region }), sqs: createSqsClient({ endpoint, region }), endpoint };
}

/** The default configuration (bucket pseudolabel-data, queues pseudolabel-*), at the tested endpoint. */
export function defaultConfig(): LocalstackConfig {
  return localstackConfig({ endpoint: inject('localstackEndpoint'), region: inject('localstackRegion') });
}

/**
 * A private copy of the LocalStack resources (own bucket and queues, same provisioning code), so tests that
 * count messages do not see each other's; `cleanup` deletes them.
 */
export async function provisionIsolated(): Promise<{
  config: LocalstackConfig;
  resources: ProvisionedResources;
  cleanup: () => Promise<void>;
}> {
  const { s3, sqs, endpoint } = localstackClients();
  const id = randomUUID().slice(0, 8);
  const config = localstackConfig({
    endpoint,
    region: inject('localstackRegion'),
    bucket: `pl-test-${id}`,
    queuePrefix: `pl-test-${id}`,
    visibilityTimeout: 2,
  });
  const resources = await provision(config, { s3, sqs });
  const cleanup = async () => {
    const urls = [...Object.values(resources.queueUrls), ...Object.values(resources.deadLetterQueueUrls)];
    await Promise.all(urls.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: config.bucket }));
    const objects = (listed.Contents ?? []).map(({ Key }) => ({ Key }));
    if (objects.length > 0) {
      await s3.send(new DeleteObjectsCommand({ Bucket: config.bucket, Delete: { Objects: objects } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: config.bucket }));
  };
  return { config, resources, cleanup };
}

/**
 * Receives (and deletes) messages until `done(received so far)` holds or the timeout passes; returns them all.
 * S3 notifications and redrive are asynchronous, so tests poll.
 */
export async function receiveUntil(
  sqs: SQSClient,
  queueUrl: string,
  done: (messages: readonly Message[]) => boolean,
  timeoutMs = 20_000,
): Promise<Message[]> {
  const received: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done(received) && Date.now() < deadline) {
    const response = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of response.Messages ?? []) {
      received.push(message);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return received;
}
