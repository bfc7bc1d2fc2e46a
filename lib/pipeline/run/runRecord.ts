import { NotFoundError } from '../../adapters/errors.ts';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import type { HostCapacity } from '../capacity.ts';
import type { IncrementalRun } from '../incremental/shardReuse.ts';
import { keys } from '../keys.ts';
import type { AutoSearch } from '../modelSelection/autoSearch.ts';
import type { RunHoldout } from '../modelSelection/holdoutRun.ts';
import type { NeighborsPlan } from '../neighbors/neighborsPlan.ts';
import type { PropagationPartitions } from '../propagation/partitionGraph.ts';
import type { RunOptions } from '../runOptions.ts';
import type { RunInput } from '../shards/shardPlan.ts';
import type { Stage } from '../taskMessage.ts';
import type { StageMetrics } from '../taskMetrics.ts';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/**
 * runs/<runId>/run.json: what a run is and where it stands. Reduce steps write it (one at a time per run; shard
 * tasks count their progress in completion markers instead), and so do `pseudolabel cancel` and the hosts that
 * record a failure, at any moment: every write is a compare-and-swap (swapRun), so none is lost.
 */
export interface RunRecord {
  readonly runId: string;
  readonly dataset: string;
  /** Where the inputs live: `file://<dir>` in embedded mode, `s3://<bucket>` otherwise. */
  readonly inputRoot: string;
  inputs: RunInput[];
  /** The run's options; with `--method auto`, the propagate step writes the chosen method into them. */
  options: RunOptions;
  /** How neighbours are searched (set by the collect step, revised by calibrate). */
  neighbors?: NeighborsPlan;
  /** How a fanned-out propagation partitions the rows (set by the propagate step; partitionGraph.ts). */
  partitions?: PropagationPartitions;
  /** Why `--method auto` chose the method. */
  methodReason?: string;
  /** `--method auto`: every setting tried, with its score (autoSearch.ts). */
  auto?: AutoSearch;
  /** --holdout: the repeated-split comparison, found by the collect step (holdoutRun.ts). */
  holdout?: RunHoldout;
  status: RunStatus;
  stage: Stage;
  round: number;
  shards: number;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** When a run still running is called stalled (set by the plan step from the run's size: runDeadline.ts). */
  deadline?: string;
  error?: string;
  /** Milliseconds per stage, summed over the stage's tasks and rounds. */
  timings: Partial<Record<Stage, number>>;
  /** What each task may use where the run runs (capacity.ts); the plan step refuses a run that cannot fit. */
  host?: HostCapacity;
  /**
   * The run publishes its labels as the next version of `dataset` when it succeeds (datasetVersions.ts): runs
   * started from incoming/<dataset>/ (notifications, schedule, `retrain`) and `pseudolabel run --dataset NAME`.
   */
  versioned?: boolean;
  /** A digest of the files and options the run read: `retrain` compares it (embeddedRetrain.ts for local runs). */
  contentKey?: string;
  /**
   * `pseudolabel run --dataset`: its --input (made absolute) and options as asked (auto's choice replaces
   * `options`), which `retrain` over the state directory asks again (embeddedRetrain.ts).
   */
  request?: { readonly input: string; readonly options: RunOptions };
  /** Dataset runs: what the run takes over from the latest version (incremental/shardReuse.ts). */
  incremental?: IncrementalRun;
  /** The dataset version this run published. */
  version?: number;
  /** Peak RSS and store bytes of the reduce steps, per stage (shard tasks keep theirs in their markers). */
  metrics?: Partial<Record<Stage, StageMetrics>>;
}

export async function readRun(store: ObjectStore, runId: string): Promise<RunRecord> {
  const bytes = await store.get(keys.run(runId));
  return JSON.parse(new TextDecoder().decode(bytes)) as RunRecord;
}

/** Like readRun, but undefined for a run that does not exist. */
export async function findRun(store: ObjectStore, runId: string): Promise<RunRecord | undefined> {
  try {
    return await readRun(store, runId);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * Changes run.json by compare-and-swap (ObjectStore.putIfMatch), retried until no other writer came between the
 * read and the write: a `pseudolabel cancel` that lands while a reduce step updates the record is never
 * overwritten. `change` returns false to leave the record as it is. Returns the record as it now stands.
 */
async function swapRun(store: ObjectStore, runId: string, change: (record: RunRecord) => boolean): Promise<RunRecord> {
  const key = keys.run(runId);
  for (;;) {
    const info = await store.head(key);
    if (info === undefined) throw new NotFoundError(store.describe(key));
    // Read after the head: a record newer than the tag makes the swap below fail, and the loop reads again.
    const record = await readRun(store, runId);
    if (!change(record)) return record;
    record.updatedAt = new Date().toISOString();
    if (await store.putIfMatch(key, `${JSON.stringify(record, null, 2)}\n`, info.etag)) return record;
  }
}

/**
 * Reads, changes and writes run.json while the run is running. A run that has ended (cancelled, or failed by
 * another task or host) is left as it is and returned: its remaining steps change nothing.
 */
export async function updateRun(
  store: ObjectStore,
  runId: string,
  change: (record: RunRecord) => void,
): Promise<RunRecord> {
  return swapRun(store, runId, (record) => {
    if (record.status !== 'running') return false;
    change(record);
    return true;
  });
}

/**
 * Told once when a run reaches its terminal status (succeeded, failed, cancelled), after run.json says so: the
 * Lambda handlers' RunsEnded metric (lib/hosts/serverless/metrics.ts). The StageContext carries it (`runEnded`).
 */
export type RunEnded = (record: RunRecord) => void;

/** Why a run ended without output: the stage it stopped at (kept as recorded when absent) and the reason. */
export interface RunFailure {
  readonly stage?: Stage;
  readonly error: string;
}

/**
 * Records that a run failed: status `failed`, the stage, the reason and the time. A run that has already ended
 * (succeeded, cancelled, or failed for an earlier reason) is left as it is, so the first reason recorded stands.
 * Used where a task gives up for good (a dead letter: the embedded runner, the Lambda handlers on a message's last
 * receive, the dead-letter consumer), where nothing else would ever move the run on. Returns the record as it now
 * stands.
 */
export async function markRunFailed(
  store: ObjectStore,
  runId: string,
  failure: RunFailure,
  runEnded?: RunEnded,
): Promise<RunRecord> {
  return endRun(store, runId, 'failed', failure, runEnded);
}

/**
 * Records that a run was cancelled (`pseudolabel cancel`, or a signal to the embedded runner): status `cancelled`,
 * the reason and the time. Its tasks stop at their next step (executeTask ignores ended runs). A run that has
 * already ended is left as it is.
 */
export async function markRunCancelled(
  store: ObjectStore,
  runId: string,
  reason: string,
  runEnded?: RunEnded,
): Promise<RunRecord> {
  return endRun(store, runId, 'cancelled', { error: reason }, runEnded);
}

/**
 * Records that a run whose steps all succeeded failed after all, because its outputs could not be delivered
 * (the embedded runner copying them to --out met a full disk): status `failed`, stage finalize, the reason.
 */
export async function markOutputFailed(store: ObjectStore, runId: string, reason: string): Promise<RunRecord> {
  return swapRun(store, runId, (record) => {
    if (record.status !== 'succeeded' && record.status !== 'running') return false;
    record.status = 'failed';
    record.stage = 'finalize';
    record.error = reason;
    record.finishedAt = new Date().toISOString();
    return true;
  });
}

async function endRun(
  store: ObjectStore,
  runId: string,
  status: 'failed' | 'cancelled',
  failure: RunFailure,
  runEnded: RunEnded | undefined,
): Promise<RunRecord> {
  let ended = false;
  const record = await swapRun(store, runId, (current) => {
    ended = current.status === 'running';
    if (!ended) return false;
    current.status = status;
    if (failure.stage !== undefined) current.stage = failure.stage;
    current.error = failure.error;
    current.finishedAt = new Date().toISOString();
    return true;
  });
  if (ended) runEnded?.(record);
  return record;
}
