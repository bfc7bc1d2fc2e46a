import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';
import { type Stage, type TaskMessage, taskMessage } from '../taskMessage.ts';
import { measuredTask, type TaskMetrics } from '../taskMetrics.ts';
import { findRun } from './runRecord.ts';
import { claimStep } from './stepClaim.ts';

/**
 * What a shard task reports in its completion marker; the reduce steps sum these. completeShardTask adds the
 * task's peak RSS and store bytes (TaskMetrics) to what the stage gives; markers of older runs may lack them.
 */
export interface ShardMetrics extends Partial<TaskMetrics> {
  readonly ms: number;
  readonly rows?: number;
  readonly rejected?: number;
  /** ingest, cells: the shard's objects were copied from the dataset's latest version (lib/pipeline/incremental). */
  readonly reused?: boolean;
  /** Fanned-out propagation: sum |F_new - F_old| over the task's rows (the convergence test's part). */
  readonly delta?: number;
  /** Fanned-out propagation: the task's unlabelled rows whose F is all zero (no label reached them yet). */
  readonly unreached?: number;
}

/**
 * Fan-in (DESIGN.md section 5): a finished shard task writes its completion marker; whoever sees the full set
 * of markers enqueues the reduce step. A redelivered task finds its marker present and may enqueue the reduce
 * step again: reduce steps run through `reduceOnce`, so the duplicate does nothing.
 */
export async function completeShardTask(
  ctx: StageContext,
  task: TaskMessage,
  totalShards: number,
  next: Stage,
  metrics: ShardMetrics,
): Promise<void> {
  const measured: ShardMetrics = { ...measuredTask(ctx.meter, metrics.ms), ...metrics };
  await ctx.store.putIfAbsent(keys.marker(task.runId, task.stage, task.round, task.shard), JSON.stringify(measured));
  const done = await ctx.store.list(keys.markers(task.runId, task.stage, task.round));
  if (done.length < totalShards) return;
  // A run cancelled (or failed) meanwhile goes no further: nothing more is sent.
  if (await runHasEnded(ctx, task)) return;
  await ctx.reduce.send(taskMessage(task.runId, next, task.round, 0));
}

/** Whether the task's run was cancelled or failed (a step that finds this sends nothing more). */
async function runHasEnded(ctx: StageContext, task: TaskMessage): Promise<boolean> {
  const run = await findRun(ctx.store, task.runId);
  if (run === undefined || run.status === 'running' || run.status === 'succeeded') return false;
  ctx.log.info('run has ended; nothing more is sent', { ...task, status: run.status });
  return true;
}

/** Reads the completion markers of a stage, every round (report timings and stage metrics). */
export async function shardMetricsOf(ctx: StageContext, runId: string, stage: Stage): Promise<ShardMetrics[]> {
  const listed = await ctx.store.list(keys.stageMarkers(runId, stage));
  return Promise.all(listed.map(async (info) => readJson<ShardMetrics>(ctx.store, info.key)));
}

/** Reads the completion markers of one round of a stage, in shard order. */
export async function roundMetricsOf(
  ctx: StageContext,
  runId: string,
  stage: Stage,
  round: number,
): Promise<ShardMetrics[]> {
  const listed = await ctx.store.list(keys.markers(runId, stage, round));
  return Promise.all(listed.map(async (info) => readJson<ShardMetrics>(ctx.store, info.key)));
}

/** Whether this shard task already completed (a redelivery): its marker is present. */
export async function shardTaskDone(ctx: StageContext, task: TaskMessage): Promise<boolean> {
  return ctx.store.exists(keys.marker(task.runId, task.stage, task.round, task.shard));
}

/**
 * Runs a reduce step at most once to completion: `step` computes (idempotently: it may run again after a crash,
 * writing the same bytes) and returns the messages that follow it; they are sent, then the step is marked done.
 * A step already marked done does nothing, so duplicate deliveries cannot start a stage twice; a step being
 * computed by another delivery (its claim, stepClaim.ts) throws StepClaimedError, to be retried later.
 */
export async function reduceOnce(
  ctx: StageContext,
  task: TaskMessage,
  step: () => Promise<{ tasks?: TaskMessage[]; reduce?: TaskMessage[] }>,
): Promise<boolean> {
  const doneKey = keys.advanced(task.runId, task.stage, task.round);
  if (await ctx.store.exists(doneKey)) {
    ctx.log.info('reduce step already done; duplicate ignored', { ...task });
    return false;
  }
  const claim = await claimStep(ctx, task);
  let next: Awaited<ReturnType<typeof step>>;
  try {
    next = await step();
  } catch (error) {
    await claim.release();
    throw error;
  } finally {
    claim.stop();
  }
  // A run cancelled (or failed) while the step computed goes no further: nothing more is sent.
  const sending = (next.tasks?.length ?? 0) + (next.reduce?.length ?? 0) > 0;
  if (sending && (await runHasEnded(ctx, task))) {
    await ctx.store.putIfAbsent(doneKey, new Date().toISOString());
    return true;
  }
  if (next.tasks?.length) await ctx.tasks.sendBatch(next.tasks);
  if (next.reduce?.length) await ctx.reduce.sendBatch(next.reduce);
  await ctx.store.putIfAbsent(doneKey, new Date().toISOString());
  return true;
}
