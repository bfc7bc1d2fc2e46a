import type { ObjectStore } from '../../adapters/objectStore.ts';
import { parseTaskMessage, type TaskMessage } from '../taskMessage.ts';
import { markRunFailed, type RunEnded } from './runRecord.ts';

/** The reason recorded in run.json when a task gave up on its last receive. */
export function lastReceiveReason(
  task: Pick<TaskMessage, 'stage' | 'shard'>,
  receives: number,
  error: unknown,
): string {
  const message = error instanceof Error ? error.message : String(error);
  return `task ${task.stage} shard ${task.shard} failed ${receives} times: ${message}`;
}

/** A failed delivery, as every host sees it: the message, how often it was received, and the queue's limit. */
export interface FailedDelivery {
  /** The message body (JSON text, or the parsed object of an in-process queue). */
  readonly body: unknown;
  /** Receives so far, this one included (SQS ApproximateReceiveCount). */
  readonly receives: number;
  /** The queue's maxReceiveCount: after that many failed receives the message is dead-lettered. */
  readonly maxReceives: number;
  readonly error: unknown;
}

/**
 * The one rule of every host (embedded runner, LocalStack worker, Lambda) for a task that fails on its last
 * allowed receive: the queue will dead-letter it and nothing else will move its run on, so its run is marked
 * failed in run.json, with the task's stage and `lastReceiveReason`, before the failure is reported. Returns
 * that reason, or undefined when this receive was not the last (it will be delivered again) or the body is not
 * a task message. A store error is thrown: the caller logs it and still reports the task's own failure.
 */
export async function failRunOnLastReceive(
  store: ObjectStore,
  delivery: FailedDelivery,
  runEnded?: RunEnded,
): Promise<{ task: TaskMessage; reason: string } | undefined> {
  if (delivery.receives < delivery.maxReceives) return undefined;
  let task: TaskMessage;
  try {
    task = parseTaskMessage(delivery.body);
  } catch {
    return undefined;
  }
  const reason = lastReceiveReason(task, delivery.receives, delivery.error);
  await markRunFailed(store, task.runId, { stage: task.stage, error: reason }, runEnded);
  return { task, reason };
}
