import type { ObjectStore } from '../adapters/objectStore.ts';
import type { TaskQueue } from '../adapters/taskQueue.ts';
import type { RunEnded } from './run/runRecord.ts';
import type { TaskMessage } from './taskMessage.ts';
import type { TaskMeter } from './taskMetrics.ts';

/** Structured log sink: Powertools logger in Lambda, stderr lines in the CLI. */
export interface StageLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/**
 * What a stage may touch. The embedded runner, the LocalStack worker and the Lambda handlers build one and
 * call the same stage functions with it.
 */
export interface StageContext {
  /** Run state, intermediate data and outputs (runs/...). */
  readonly store: ObjectStore;
  /** Where the input files are read from (the same bucket in S3 modes; the input directory in embedded mode). */
  readonly inputs: (root: string) => ObjectStore;
  /** Shard tasks (ingest, cells, neighbors, gather, edges, route, degrees, iterate, result, score, outcome, output). */
  readonly tasks: TaskQueue;
  /** Reduce steps (plan, collect, calibrate, lists, propagate, graph, routed, converge, reduce, finalize). */
  readonly reduce: TaskQueue;
  readonly log: StageLog;
  /**
   * True where this process runs this one task only (the embedded runner's `--task-memory` child processes):
   * its peak RSS is then the task's own (taskMetrics.ts).
   */
  readonly ownProcess?: boolean;
  /** Told when a run reaches its terminal status (the Lambda handlers' RunsEnded metric); absent elsewhere. */
  readonly runEnded?: RunEnded;
  /** Set by executeTask: the bytes the task's stores moved (taskMetrics.ts). */
  readonly meter?: TaskMeter;
}

export type StageFunction = (ctx: StageContext, task: TaskMessage) => Promise<void>;

export const silentLog: StageLog = { info: () => {}, warn: () => {} };
