import type { TaskQueue } from './taskQueue.ts';

/** A message handed out by `InProcessQueue.receive()`. */
export interface ReceivedMessage {
  /** Stable across redeliveries of the same message. */
  readonly id: string;
  /** A fresh copy of what was sent (JSON round trip, as over SQS). */
  readonly body: unknown;
  /** 1 on first delivery, then 2, 3, ... on redelivery. */
  readonly receiveCount: number;
}

export interface InProcessQueueOptions {
  /** A message whose handler fails this many times goes to `deadLetters` (SQS maxReceiveCount). Default 3. */
  readonly maxReceives?: number;
}

interface Entry {
  readonly id: string;
  readonly json: string;
  receiveCount: number;
}

/**
 * In-memory TaskQueue for embedded mode, with the semantics of an SQS queue plus redrive policy: delivery is at
 * least once. `receive()` hands out a message and keeps it in flight; `ack()` removes it; `fail()` (or a
 * handler that throws in `processNext`) puts it back at the tail to be delivered again, until it has been
 * received `maxReceives` times, after which it lands in `deadLetters` instead. Bodies are serialised on send,
 * so a non-JSON message fails at the sender as it would with SQS, and consumers never share objects.
 */
export class InProcessQueue implements TaskQueue {
  readonly maxReceives: number;
  /** Messages that failed `maxReceives` times, in the order they gave up. */
  readonly deadLetters: ReceivedMessage[] = [];
  private readonly waiting: Entry[] = [];
  private readonly inFlightById = new Map<string, Entry>();
  private head = 0;
  private nextId = 1;

  constructor(options: InProcessQueueOptions = {}) {
    const maxReceives = options.maxReceives ?? 3;
    if (!Number.isInteger(maxReceives) || maxReceives < 1) {
      throw new RangeError(`maxReceives must be an integer >= 1: ${maxReceives}`);
    }
    this.maxReceives = maxReceives;
  }

  /** Messages waiting to be received (not counting those in flight). */
  get size(): number {
    return this.waiting.length - this.head;
  }

  /** Messages received and neither acknowledged nor failed yet. */
  get inFlight(): number {
    return this.inFlightById.size;
  }

  /** True when nothing waits and nothing is in flight. */
  get idle(): boolean {
    return this.size === 0 && this.inFlight === 0;
  }

  async send(message: unknown): Promise<void> {
    this.enqueue(message);
  }

  async sendBatch(messages: readonly unknown[]): Promise<void> {
    const encoded = messages.map(encode); // all or nothing: encode every body before queueing any
    for (const json of encoded) this.waiting.push({ id: String(this.nextId++), json, receiveCount: 0 });
  }

  /** Takes the oldest waiting message and marks it in flight, or returns undefined when none waits. */
  receive(): ReceivedMessage | undefined {
    if (this.head === this.waiting.length) return undefined;
    const entry = this.waiting[this.head++];
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    entry.receiveCount++;
    this.inFlightById.set(entry.id, entry);
    return { id: entry.id, body: JSON.parse(entry.json), receiveCount: entry.receiveCount };
  }

  /** Deletes a received message (its handler succeeded). Acknowledging twice is harmless. */
  ack(id: string): void {
    this.inFlightById.delete(id);
  }

  /** Returns a received message for redelivery, or dead-letters it after `maxReceives` receives. */
  fail(id: string): void {
    const entry = this.inFlightById.get(id);
    if (entry === undefined) return;
    this.inFlightById.delete(id);
    if (entry.receiveCount >= this.maxReceives) {
      this.deadLetters.push({ id: entry.id, body: JSON.parse(entry.json), receiveCount: entry.receiveCount });
    } else {
      this.waiting.push(entry);
    }
  }

  /**
   * Receives one message and runs the handler on it: ack on success, fail (redeliver / dead-letter) on a throw.
   * Resolves to false when no message was waiting, true otherwise; the handler's error is not rethrown,
   * it is passed to `onError` when given.
   */
  async processNext(
    handler: (body: unknown, message: ReceivedMessage) => Promise<void>,
    onError?: (error: unknown, message: ReceivedMessage) => void,
  ): Promise<boolean> {
    const message = this.receive();
    if (message === undefined) return false;
    try {
      await handler(message.body, message);
      this.ack(message.id);
    } catch (error) {
      this.fail(message.id);
      onError?.(error, message);
    }
    return true;
  }

  private enqueue(message: unknown): void {
    this.waiting.push({ id: String(this.nextId++), json: encode(message), receiveCount: 0 });
  }
}

function encode(message: unknown): string {
  const json = JSON.stringify(message);
  if (json === undefined) throw new TypeError('a queue message must be JSON-serialisable');
  return json;
}
