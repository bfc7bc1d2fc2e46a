import { describe, expect, it } from 'vitest';
import { InProcessQueue } from '../../lib/adapters/inProcessQueue.ts';

describe('InProcessQueue', () => {
  it('delivers in send order and counts waiting and in-flight messages', async () => {
    // Prepare
    const queue = new InProcessQueue();
    await queue.send({ n: 1 });
    await queue.sendBatch([{ n: 2 }, { n: 3 }]);

    // Act
    const first = queue.receive();
    const second = queue.receive();

    // Assess
    expect([first?.body, second?.body]).toEqual([{ n: 1 }, { n: 2 }]);
    expect(first?.receiveCount).toBe(1);
    expect(queue.size).toBe(1);
    expect(queue.inFlight).toBe(2);
    expect(queue.idle).toBe(false);
  });

  it('acknowledged messages are gone; an empty queue receives undefined', async () => {
    // Prepare
    const queue = new InProcessQueue();
    await queue.send('only');
    const message = queue.receive()!;

    // Act
    queue.ack(message.id);

    // Assess
    expect(queue.receive()).toBeUndefined();
    expect(queue.idle).toBe(true);
  });

  it('a failed message is redelivered with a growing receive count, then dead-lettered at maxReceives', async () => {
    // Prepare
    const queue = new InProcessQueue({ maxReceives: 3 });
    await queue.send({ task: 'poison' });
    const counts: number[] = [];

    // Act
    for (let message = queue.receive(); message !== undefined; message = queue.receive()) {
      counts.push(message.receiveCount);
      queue.fail(message.id);
    }

    // Assess
    expect(counts).toEqual([1, 2, 3]);
    expect(queue.deadLetters).toEqual([{ id: expect.any(String), body: { task: 'poison' }, receiveCount: 3 }]);
    expect(queue.idle).toBe(true);
  });

  it('processNext acks on success and redelivers on a throw, reporting the error', async () => {
    // Prepare
    const queue = new InProcessQueue();
    await queue.sendBatch(['ok', 'flaky']);
    const errors: string[] = [];
    let flakyCalls = 0;
    const handler = async (body: unknown) => {
      if (body === 'flaky' && flakyCalls++ === 0) throw new Error('transient');
    };

    // Act
    const processed: boolean[] = [];
    for (let i = 0; i < 4; i++) processed.push(await queue.processNext(handler, (e) => errors.push(String(e))));

    // Assess
    expect(processed).toEqual([true, true, true, false]);
    expect(errors).toEqual(['Error: transient']);
    expect(queue.deadLetters).toEqual([]);
    expect(queue.idle).toBe(true);
  });

  it('hands out copies: a consumer mutating a body does not change the redelivered one', async () => {
    // Prepare
    const queue = new InProcessQueue();
    const sent = { items: [1, 2] };
    await queue.send(sent);
    sent.items.push(99);
    const first = queue.receive()!;
    (first.body as { items: number[] }).items.push(3);

    // Act
    queue.fail(first.id);
    const again = queue.receive()!;

    // Assess
    expect(again.body).toEqual({ items: [1, 2] });
    expect(again.id).toBe(first.id);
  });

  it('rejects non-JSON messages, a whole batch at a time', async () => {
    // Prepare
    const queue = new InProcessQueue();

    // Act
    const single = queue.send(undefined);
    const batch = queue.sendBatch([{ ok: 1 }, () => 0]);

    // Assess
    await expect(single).rejects.toBeInstanceOf(TypeError);
    await expect(batch).rejects.toBeInstanceOf(TypeError);
    expect(queue.size).toBe(0);
  });

  it('rejects a maxReceives below 1', () => {
    expect(() => new InProcessQueue({ maxReceives: 0 })).toThrow(RangeError);
  });

  it('stays FIFO across many messages (internal compaction)', async () => {
    // Prepare
    const queue = new InProcessQueue();
    await queue.sendBatch(Array.from({ length: 3000 }, (_, i) => i));

    // Act
    const received: unknown[] = [];
    for (let message = queue.receive(); message !== undefined; message = queue.receive()) {
      received.push(message.body);
      queue.ack(message.id);
      if (message.body === 1500) await queue.send('late');
    }

    // Assess
    expect(received).toEqual([...Array.from({ length: 3000 }, (_, i) => i), 'late']);
  });
});
