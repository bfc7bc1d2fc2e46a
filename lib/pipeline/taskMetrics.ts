import { CountingObjectStore, noTraffic, type StoreTraffic } from '../adapters/countingObjectStore.ts';
import type { StageContext } from './stageContext.ts';

/**
 * Whose memory a peak RSS measures. `task`: the process ran this one task only (the embedded runner with
 * `--task-memory`), so its peak is the task's. `process`: the process runs other tasks too, before or beside
 * this one (worker threads of the embedded runner, the LocalStack worker, a warm Lambda container), so its peak
 * is an upper bound of the task's.
 */
export type PeakRssScope = 'task' | 'process';

/** What a task measured: its duration, its process's peak RSS and the bytes it moved through the store. */
export interface TaskMetrics {
  readonly ms: number;
  readonly peakRssBytes: number;
  readonly peakRssScope: PeakRssScope;
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/** Per stage in report.json (and run.json for reduce steps): the largest task and the stage's totals. */
export interface StageMetrics {
  readonly tasks: number;
  /** The largest peak RSS of the stage's tasks (see peakRssScope). */
  readonly peakRssBytes: number;
  /** `task` only when every task of the stage ran in a process of its own. */
  readonly peakRssScope: PeakRssScope;
  /** Sums over the stage's tasks (every round). */
  readonly bytesRead: number;
  readonly bytesWritten: number;
  /** The task that read the most, and the longest task. */
  readonly largestTaskBytesRead: number;
  readonly longestTaskMs: number;
  /** Each task's peak RSS, in the order of its marker key (round, then shard). */
  readonly peakRssBytesByTask: number[];
}

/** A task's running measurements, carried in its StageContext. */
export interface TaskMeter {
  readonly traffic: StoreTraffic;
  readonly peakRssScope: PeakRssScope;
}

/**
 * The context a task runs with: its stores count the bytes they move (run store and input stores alike), and
 * `meter` lets the task report them. Every host runs tasks through executeTask, which calls this.
 */
export function meteredContext(ctx: StageContext): StageContext & { meter: TaskMeter } {
  const traffic = noTraffic();
  const counted = new Map<string, CountingObjectStore>();
  const inputs = (root: string): CountingObjectStore => {
    let store = counted.get(root);
    if (!store) {
      store = new CountingObjectStore(ctx.inputs(root), traffic);
      counted.set(root, store);
    }
    return store;
  };
  return {
    ...ctx,
    store: new CountingObjectStore(ctx.store, traffic),
    inputs,
    meter: { traffic, peakRssScope: ctx.ownProcess ? 'task' : 'process' },
  };
}

/** This process's peak resident set size so far, in bytes (getrusage ru_maxrss; Node gives kilobytes). */
export function processPeakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** A task's figures now: the bytes its stores moved so far and its process's peak RSS so far. */
export function measuredTask(meter: TaskMeter | undefined, ms: number): TaskMetrics {
  return {
    ms,
    peakRssBytes: processPeakRssBytes(),
    peakRssScope: meter?.peakRssScope ?? 'process',
    bytesRead: meter?.traffic.bytesRead ?? 0,
    bytesWritten: meter?.traffic.bytesWritten ?? 0,
  };
}

/** Adds one task's figures to its stage's (undefined: the stage's first task). */
export function addTaskMetrics(stage: StageMetrics | undefined, task: Partial<TaskMetrics>): StageMetrics {
  const scope: PeakRssScope =
    task.peakRssScope === 'task' && (stage?.peakRssScope ?? 'task') === 'task' ? 'task' : 'process';
  return {
    tasks: (stage?.tasks ?? 0) + 1,
    peakRssBytes: Math.max(stage?.peakRssBytes ?? 0, task.peakRssBytes ?? 0),
    peakRssScope: scope,
    bytesRead: (stage?.bytesRead ?? 0) + (task.bytesRead ?? 0),
    bytesWritten: (stage?.bytesWritten ?? 0) + (task.bytesWritten ?? 0),
    largestTaskBytesRead: Math.max(stage?.largestTaskBytesRead ?? 0, task.bytesRead ?? 0),
    longestTaskMs: Math.max(stage?.longestTaskMs ?? 0, task.ms ?? 0),
    peakRssBytesByTask: [...(stage?.peakRssBytesByTask ?? []), task.peakRssBytes ?? 0],
  };
}
