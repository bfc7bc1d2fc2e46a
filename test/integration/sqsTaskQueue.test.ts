import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisionedResources } from '../../lib/adapters/awsResources.ts';
import { SqsTaskQueue } from '../../lib/adapters/sqsTaskQueue.ts';
import { localstackClients, provisionIsolated, receiveUntil } from './localstackResources.ts';

describe('SqsTaskQueue on LocalStack', () => {
  let resources: ProvisionedResources;
  let cleanup: () => Promise<void>;
  const { sqs } = localstackClients();

  beforeAll(async () => {
    ({ resources, cleanup } = await provisionIsolated());
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it('delivers one send and a sendBatch of 25 (three SQS batches) back as JSON', async () => {
    // Prepare
    const name = resources.queueUrls.tasks.split('/').pop()!;
    const queue = new SqsTaskQueue({ queue: name, client: sqs });
    const batch = Array.from({ length: 25 }, (_, shard) => ({ v: 1, runId: 'r', stage: 'neighbors', round: 0, shard }));

    // Act
    await queue.send({ v: 1, runId: 'r', stage: 'plan', round: 0, shard: 0 });
    await queue.sendBatch(batch);
    const received = await receiveUntil(sqs, resources.queueUrls.tasks, (m) => m.length >= 26);

    // Assess
    const bodies = received.map((m) => JSON.parse(m.Body!));
    expect(bodies).toHaveLength(26);
    expect(
      bodies
        .filter((b) => b.stage === 'neighbors')
        .map((b) => b.shard)
        .sort((a, b) => a - b),
    ).toEqual(batch.map((b) => b.shard));
    expect(bodies.filter((b) => b.stage === 'plan')).toHaveLength(1);
  });

  it('moves a message received more than 3 times to the dead-letter queue (redrive)', async () => {
    // Prepare
    const queue = new SqsTaskQueue({ queue: resources.queueUrls.reduce, client: sqs });
    await queue.send({ poison: true });
    const receive = () =>
      sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.queueUrls.reduce,
          VisibilityTimeout: 0, // never deleted, visible again at once: a handler that keeps failing
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );

    // Act
    const counts: string[] = [];
    for (let attempt = 0; attempt < 10 && counts.length < 3; attempt++) {
      for (const message of (await receive()).Messages ?? []) counts.push(message.Attributes!.ApproximateReceiveCount!);
    }
    const fourth = await receive();
    const dead = await receiveUntil(sqs, resources.deadLetterQueueUrls.reduce, (m) => m.length >= 1);

    // Assess
    expect(counts).toEqual(['1', '2', '3']);
    expect(fourth.Messages ?? []).toEqual([]);
    expect(dead.map((m) => JSON.parse(m.Body!))).toEqual([{ poison: true }]);
  });
});
