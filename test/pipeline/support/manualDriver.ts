import { basename, dirname, resolve } from 'node:path';
import { FilesystemObjectStore } from '../../../lib/adapters/filesystemObjectStore.ts';
import { storeFromUrl } from '../../../lib/adapters/storeFromUrl.ts';
import type { TaskQueue } from '../../../lib/adapters/taskQueue.ts';
import { executeTask } from '../../../lib/pipeline/executeTask.ts';
import { keys } from '../../../lib/pipeline/keys.ts';
import type { RunEnded } from '../../../lib/pipeline/run/runRecord.ts';
import { startRun } from '../../../lib/pipeline/run/startRun.ts';
import type { RunOptions } from '../../../lib/pipeline/runOptions.ts';
import type { StageContext } from '../../../lib/pipeline/stageContext.ts';
import { parseTaskMessage, type TaskMessage } from '../../../lib/pipeline/taskMessage.ts';
import { seededRandom } from './datasets.ts';
import { type RecordingLog, recordingLog } from './pipelineHarness.ts';

/**
 * Runs a pipeline by hand, the way a queue consumer would, with full control over delivery: startRun, then
 * executeTask on messages taken from two queues this driver drains itself. Every sent message can be delivered
 * several times, in any order across both queues (at-least-once delivery, as SQS: a message is only ever sent
 * after the work that sends it, so any interleaving of pending deliveries is one SQS could produce), and shard
 * tasks can run concurrently with each other and with at most one reduce step (reduce steps of a run run one
 * at a time, docs/ARCHITECTURE.md).
 */

export type QueueName = 'tasks' | 'reduce';

export interface Delivery {
  readonly queue: QueueName;
  readonly body: TaskMessage;
}

export interface DeliveryPlan {
  /** Seed of the delivery order; undefined = first in, first out, one at a time. */
  readonly seed?: number;
  /** How many times a sent message is delivered (default 1). `random` is the driver's seeded generator. */
  readonly copies?: (message: TaskMessage, queue: QueueName, random: () => number) => number;
  /** Most deliveries run at once (default 1); a group holds at most one reduce step. */
  readonly concurrency?: number;
  /** Start the run this many times with the same run id (startRun is idempotent; default 1). */
  readonly starts?: number;
  /** The stage context's hook told when the run ends (the Lambda handlers' RunsEnded metric). */
  readonly runEnded?: RunEnded;
}

export interface DrivenRun {
  readonly runId: string;
  readonly store: FilesystemObjectStore;
  /** Every message sent by startRun and the stages, once each, in send order. */
  readonly sent: Delivery[];
  /** Every delivery, in the order they were started. */
  readonly delivered: Delivery[];
  readonly log: RecordingLog;
}

/** A task queue that hands what is sent to the driver. */
function queueInto(name: QueueName, accept: (queue: QueueName, body: unknown) => void): TaskQueue {
  return {
    send: async (message) => accept(name, message),
    sendBatch: async (messages) => {
      for (const message of messages) accept(name, message);
    },
  };
}

export async function driveRun(
  input: string,
  stateDir: string,
  options: RunOptions,
  runId: string,
  plan: DeliveryPlan = {},
): Promise<DrivenRun> {
  const random = seededRandom(plan.seed ?? 0);
  const copies = plan.copies ?? (() => 1);
  const concurrency = plan.concurrency ?? 1;
  const sent: Delivery[] = [];
  const pending: Delivery[] = [];
  const accept = (queue: QueueName, message: unknown) => {
    const body = parseTaskMessage(JSON.parse(JSON.stringify(message)));
    sent.push({ queue, body });
    const times = copies(body, queue, random);
    for (let i = 0; i < times; i++) pending.push({ queue, body });
  };
  const log = recordingLog();
  const store = new FilesystemObjectStore(stateDir);
  const ctx: StageContext = {
    store,
    inputs: (root) => storeFromUrl(root),
    tasks: queueInto('tasks', accept),
    reduce: queueInto('reduce', accept),
    log,
    ...(plan.runEnded ? { runEnded: plan.runEnded } : {}),
  };

  const root = dirname(resolve(input));
  const key = basename(input);
  const info = await new FilesystemObjectStore(root).head(key);
  if (!info) throw new Error(`no input file ${input}`);
  const request = {
    runId,
    dataset: key,
    inputRoot: root,
    inputs: [{ key, size: info.size, etag: info.etag }],
    options,
  };
  for (let i = 0; i < (plan.starts ?? 1); i++) await startRun(ctx, request);

  const take = (index: number) => pending.splice(index, 1)[0];
  const pick = (candidates: number[]) =>
    plan.seed === undefined ? candidates[0] : candidates[Math.floor(random() * candidates.length)];
  const delivered: Delivery[] = [];
  while (pending.length > 0) {
    const group = [take(pick(pending.map((_, i) => i)))];
    while (group.length < concurrency) {
      const shardTasks = pending.flatMap((delivery, i) => (delivery.queue === 'tasks' ? [i] : []));
      if (shardTasks.length === 0 || (plan.seed !== undefined && random() < 0.3)) break;
      group.push(take(pick(shardTasks)));
    }
    delivered.push(...group);
    await Promise.all(group.map((delivery) => executeTask(ctx, delivery.body)));
  }
  return { runId, store, sent, delivered, log };
}

/** `<stage>-<round>` of a message, as in the names of `advanced` markers. */
export function stepName(message: TaskMessage): string {
  return `${message.stage}-${message.round}`;
}

/**
 * How many times each reduce step actually ran: its deliveries, less those reduceOnce ignored as duplicates
 * and those that came after the run had ended (both are logged by executeTask / reduceOnce).
 */
export function reduceStepRuns(run: DrivenRun): Map<string, number> {
  const runs = new Map<string, number>();
  for (const delivery of run.delivered) {
    if (delivery.queue !== 'reduce') continue;
    const name = stepName(delivery.body);
    runs.set(name, (runs.get(name) ?? 0) + 1);
  }
  for (const line of run.log.lines) {
    const ignored =
      line.message === 'reduce step already done; duplicate ignored' || line.message === 'run has ended; task ignored';
    const fields = line.fields as Partial<TaskMessage>;
    if (!ignored || fields.stage === undefined) continue;
    const name = `${fields.stage}-${fields.round}`;
    if (runs.has(name)) runs.set(name, (runs.get(name) ?? 0) - 1);
  }
  return runs;
}

/** Names of the `advanced` markers of a run (one per reduce step that completed). */
export async function advancedMarkers(run: DrivenRun): Promise<string[]> {
  const prefix = keys.advanced(run.runId, 'plan', 0).replace(/plan-0$/, '');
  return (await run.store.list(prefix)).map((info) => info.key.slice(prefix.length));
}

/** A file of the run's output/ in the store, as text. */
export async function outputText(run: DrivenRun, file: string): Promise<string | undefined> {
  const key = keys.output(run.runId, file);
  if (!(await run.store.head(key))) return undefined;
  return new TextDecoder().decode(await run.store.get(key));
}
