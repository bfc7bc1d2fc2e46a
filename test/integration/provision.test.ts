import { GetBucketNotificationConfigurationCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INCOMING_NOTIFICATION_ID, type ProvisionedResources, provision } from '../../lib/adapters/awsResources.ts';
import type { LocalstackConfig } from '../../lib/localstack/localstackConfig.ts';
import { defaultConfig, localstackClients, provisionIsolated, receiveUntil } from './localstackResources.ts';

/** Object keys of the S3 ObjectCreated records in messages (s3:TestEvent messages have none). */
function createdKeys(messages: readonly Message[]): string[] {
  return messages.flatMap((m) => {
    const body = JSON.parse(m.Body!) as { Records?: { eventName: string; s3: { object: { key: string } } }[] };
    return (body.Records ?? []).filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => r.s3.object.key);
  });
}

describe('provision on LocalStack', () => {
  let config: LocalstackConfig;
  let resources: ProvisionedResources;
  let cleanup: () => Promise<void>;
  const { s3, sqs } = localstackClients();

  beforeAll(async () => {
    ({ config, resources, cleanup } = await provisionIsolated());
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it('is idempotent: a second run returns the same queues', async () => {
    // Act
    const again = await provision(config, { s3, sqs });

    // Assess
    expect(again).toEqual(resources);
  });

  it('gives each queue its visibility timeout and a redrive policy to its DLQ after 3 receives', async () => {
    // Act
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: resources.queueUrls.tasks, AttributeNames: ['All'] }),
    );
    const dlq = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: resources.deadLetterQueueUrls.tasks, AttributeNames: ['QueueArn'] }),
    );

    // Assess
    expect(attributes.Attributes?.VisibilityTimeout).toBe('2');
    expect(JSON.parse(attributes.Attributes!.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: dlq.Attributes!.QueueArn,
      maxReceiveCount: 3,
    });
  });

  it('sends ObjectCreated events under incoming/ to the events queue, and none for other keys', async () => {
    // Prepare
    const put = (Key: string) => s3.send(new PutObjectCommand({ Bucket: config.bucket, Key, Body: 'id,label\n1,a\n' }));

    // Act
    await put('runs/r1/run.json');
    await put('incoming/alpha/data.csv');
    const messages = await receiveUntil(sqs, resources.queueUrls.events, (m) =>
      createdKeys(m).includes('incoming/alpha/data.csv'),
    );
    const later = await receiveUntil(sqs, resources.queueUrls.events, () => false, 2_000);

    // Assess
    expect(createdKeys(messages)).toEqual(['incoming/alpha/data.csv']);
    expect(createdKeys(later)).toEqual([]);
  });

  it('configured the default bucket too (globalSetup ran provision)', async () => {
    // Prepare
    const defaults = defaultConfig();

    // Act
    const notification = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: defaults.bucket }));

    // Assess
    expect(notification.QueueConfigurations).toEqual([
      expect.objectContaining({
        Id: INCOMING_NOTIFICATION_ID,
        QueueArn: expect.stringMatching(/:pseudolabel-events$/),
        Events: ['s3:ObjectCreated:*'],
      }),
    ]);
  });
});
