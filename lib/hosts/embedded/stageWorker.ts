import type { ObjectStore } from '../../adapters/objectStore.ts';
import { storeFromUrl } from '../../adapters/storeFromUrl.ts';
import { executeTask } from '../../pipeline/executeTask.ts';
import { silentLog } from '../../pipeline/stageContext.ts';
import { CollectingQueue } from './collectingQueue.ts';

export interface StageWorkerInput {
  readonly storeRoot: string;
  readonly body: unknown;
  /** The task has this process to itself (a `--task-memory` child process): its peak RSS is the task's. */
  readonly ownProcess?: boolean;
}

export interface StageWorkerOutput {
  readonly tasks: unknown[];
  readonly reduce: unknown[];
}

/** Stores by location, kept for the thread's life: an S3 input store keeps its client (and connections). */
const stores = new Map<string, ObjectStore>();

function opened(location: string): ObjectStore {
  const known = stores.get(location);
  if (known) return known;
  const store = storeFromUrl(location);
  stores.set(location, store);
  return store;
}

/**
 * A piscina worker thread of the embedded runner (or, with `--task-memory`, a child process of its own, see
 * taskProcess.ts): runs one task against the filesystem store and returns the messages the task sent, for the
 * runner to enqueue (queues live in the main thread).
 */
export default async function runTaskInWorker(input: StageWorkerInput): Promise<StageWorkerOutput> {
  const tasks = new CollectingQueue();
  const reduce = new CollectingQueue();
  const ownProcess = input.ownProcess === true;
  await executeTask(
    { store: opened(input.storeRoot), inputs: opened, tasks, reduce, log: silentLog, ownProcess },
    input.body,
  );
  return { tasks: tasks.sent, reduce: reduce.sent };
}
