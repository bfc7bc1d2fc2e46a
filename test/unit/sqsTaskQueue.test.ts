import {
  GetQueueUrlCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { QueueSendError, SqsTaskQueue } from '../../lib/adapters/sqsTaskQueue.ts';

type Failure = { Id: string; Code: string; Message: string; SenderFault: boolean };

/** A stand-in SQS client recording commands; `failBatch` decides which entries of each batch call fail. */
function fakeSqs(failBatch: (call: number, input: SendMessageBatchCommandInput) => Failure[] = () => []) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  let batchCalls = 0;
  const client = {
    async send(command: { input: Record<string, unknown> }) {
      calls.push({ name: command.constructor.name, input: command.input });
      if (command instanceof GetQueueUrlCommand) return { QueueUrl: `http://sqs.local/q/${command.input.QueueName}` };
      if (command instanceof SendMessageCommand) return { MessageId: 'm' };
      if (command instanceof SendMessageBatchCommand) {
        const failed = failBatch(batchCalls++, command.input);
        const failedIds = new Set(failed.map((f) => f.Id));
        return {
          Successful: (command.input.Entries ?? []).filter((e) => !failedIds.has(e.Id!)).map((e) => ({ Id: e.Id })),
          Failed: failed,
        };
      }
      throw new Error(`unexpected command ${command.constructor.name}`);
    },
  };
  return { client: client as unknown as SQSClient, calls };
}

describe('SqsTaskQueue', () => {
  it('resolves a queue name once with GetQueueUrl and sends JSON bodies', async () => {
    // Prepare
    const { client, calls } = fakeSqs();
    const queue = new SqsTaskQueue({ queue: 'pseudolabel-tasks', client });

    // Act
    await queue.send({ v: 1, stage: 'plan' });
    await queue.send({ v: 1, stage: 'ingest' });

    // Assess
    expect(calls.map((c) => c.name)).toEqual(['GetQueueUrlCommand', 'SendMessageCommand', 'SendMessageCommand']);
    expect(calls[1].input).toEqual({
      QueueUrl: 'http://sqs.local/q/pseudolabel-tasks',
      MessageBody: '{"v":1,"stage":"plan"}',
    });
  });

  it('uses a URL as given', async () => {
    // Prepare
    const { client, calls } = fakeSqs();
    const queue = new SqsTaskQueue({ queue: 'http://127.0.0.1:4566/queue/us-east-1/000000000000/q', client });

    // Act
    await queue.send(1);

    // Assess
    expect(calls.map((c) => c.name)).toEqual(['SendMessageCommand']);
  });

  it('sends 25 messages as batches of 10, 10 and 5, in order', async () => {
    // Prepare
    const { client, calls } = fakeSqs();
    const queue = new SqsTaskQueue({ queue: 'http://q', client });
    const messages = Array.from({ length: 25 }, (_, i) => ({ shard: i }));

    // Act
    await queue.sendBatch(messages);

    // Assess
    const batches = calls.map((c) => (c.input as unknown as SendMessageBatchCommandInput).Entries ?? []);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(batches.flat().map((e) => JSON.parse(e.MessageBody!).shard)).toEqual(messages.map((m) => m.shard));
  });

  it('retries only the entries that failed', async () => {
    // Prepare
    const { client, calls } = fakeSqs((call) =>
      call === 0 ? [{ Id: '3', Code: 'InternalError', Message: 'try again', SenderFault: false }] : [],
    );
    const queue = new SqsTaskQueue({ queue: 'http://q', client });

    // Act
    await queue.sendBatch(Array.from({ length: 5 }, (_, i) => i));

    // Assess
    const retry = (calls[1].input as unknown as SendMessageBatchCommandInput).Entries ?? [];
    expect(calls).toHaveLength(2);
    expect(retry.map((e) => e.MessageBody)).toEqual(['3']);
  });

  it('throws QueueSendError when entries keep failing', async () => {
    // Prepare
    const { client, calls } = fakeSqs(() => [{ Id: '0', Code: 'InternalError', Message: 'down', SenderFault: false }]);
    const queue = new SqsTaskQueue({ queue: 'http://q', client, attempts: 2 });

    // Act
    const sending = queue.sendBatch(['a', 'b']);

    // Assess
    await expect(sending).rejects.toBeInstanceOf(QueueSendError);
    await expect(sending).rejects.toThrow(/1 message\(s\) could not be sent to http:\/\/q: InternalError down/);
    expect(calls).toHaveLength(2);
  });

  it('does not retry entries rejected as the sender’s fault', async () => {
    // Prepare
    const { client, calls } = fakeSqs(() => [
      { Id: '0', Code: 'InvalidMessageContents', Message: 'bad', SenderFault: true },
    ]);
    const queue = new SqsTaskQueue({ queue: 'http://q', client });

    // Act
    const sending = queue.sendBatch(['a']);

    // Assess
    await expect(sending).rejects.toBeInstanceOf(QueueSendError);
    expect(calls).toHaveLength(1);
  });

  it('refuses a message that is not JSON before sending anything', async () => {
    // Prepare
    const { client, calls } = fakeSqs();
    const queue = new SqsTaskQueue({ queue: 'http://q', client });

    // Act
    const sending = queue.sendBatch([1, undefined]);

    // Assess
    await expect(sending).rejects.toBeInstanceOf(TypeError);
    expect(calls).toHaveLength(0);
  });
});
