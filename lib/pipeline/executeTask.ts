import { CapacityError, InputError, OptionsError } from '../errors.ts';
import { UnknownRunError, UnusableLabelsError } from './errors.ts';
import { reduceOnce } from './run/fanIn.ts';
import { findRun, markRunFailed, updateRun } from './run/runRecord.ts';
import type { StageContext } from './stageContext.ts';
import { cellsStage } from './stages/cells.ts';
import { compareStage } from './stages/compare.ts';
import { degreesStage } from './stages/degrees.ts';
import { edgesStage } from './stages/edges.ts';
import { gatherStage } from './stages/gather.ts';
import { ingestStage } from './stages/ingest.ts';
import { iterateStage } from './stages/iterate.ts';
import { neighborsStage } from './stages/neighbors.ts';
import { outcomeStage } from './stages/outcome.ts';
import { outputStage } from './stages/output.ts';
import { probesStage } from './stages/probes.ts';
import { resultStage } from './stages/result.ts';
import { routeStage } from './stages/route.ts';
import { sampleStage } from './stages/sample.ts';
import { scoreStage } from './stages/score.ts';
import { parseTaskMessage, type Stage, type TaskMessage } from './taskMessage.ts';
import { addTaskMetrics, measuredTask, meteredContext } from './taskMetrics.ts';

type ShardTask = (ctx: StageContext, task: TaskMessage) => Promise<void>;
type ReduceStep = (ctx: StageContext, task: TaskMessage) => Promise<{ tasks?: TaskMessage[]; reduce?: TaskMessage[] }>;

const SHARD_TASKS: Partial<Record<Stage, ShardTask>> = {
  ingest: ingestStage,
  sample: sampleStage,
  cells: cellsStage,
  probes: probesStage,
  neighbors: neighborsStage,
  edges: edgesStage,
  route: routeStage,
  degrees: degreesStage,
  iterate: iterateStage,
  result: resultStage,
  gather: gatherStage,
  score: scoreStage,
  outcome: outcomeStage,
  output: outputStage,
  compare: compareStage,
};
/**
 * Reduce steps are loaded on first use: a process that only runs shard tasks (a worker thread, the worker
 * Lambda) never loads the report renderer (vega) and the other reducer-only modules.
 */
const REDUCE_STEPS: Partial<Record<Stage, () => Promise<ReduceStep>>> = {
  plan: async () => {
    const { planStage } = await import('./stages/plan.ts');
    return async (ctx, task) => ({ tasks: await planStage(ctx, task) });
  },
  collect: async () => (await import('./stages/collect.ts')).collectStage,
  train: async () => (await import('./stages/train.ts')).trainStage,
  calibrate: async () => (await import('./stages/calibrate.ts')).calibrateStage,
  probed: async () => (await import('./stages/probed.ts')).probedStage,
  lists: async () => (await import('./stages/lists.ts')).listsStage,
  propagate: async () => (await import('./stages/propagate.ts')).propagateStage,
  graph: async () => (await import('./stages/graph.ts')).graphStage,
  routed: async () => (await import('./stages/routed.ts')).routedStage,
  converge: async () => (await import('./stages/converge.ts')).convergeStage,
  // self-training's fit of a round: its wire name is `reduce`
  reduce: async () => (await import('./stages/selfTrainingFit.ts')).selfTrainingFitStage,
  version: async () => (await import('./stages/version.ts')).versionStage,
  finalize: async () => (await import('./stages/finalize.ts')).finalizeStage,
};

/**
 * Loads a reduce step's modules before its message arrives, so a runner can do it while its thread would
 * otherwise wait (the embedded runner loads finalize's report renderer, vega, while a worker reduces).
 */
export async function preloadReduceStep(stage: Stage): Promise<void> {
  await REDUCE_STEPS[stage]?.();
}

/**
 * Errors that no retry can mend: the input, the options or the host's capacity are at fault (lib/errors.ts; each
 * area's own errors extend these three). The run is marked failed with the message, and the task counts as
 * handled. Anything else (a store or network fault, a killed worker, an engine error such as "Maximum call stack
 * size exceeded") is thrown so the queue delivers the task again, and after the last receive to the DLQ.
 */
export function isRunFailure(error: unknown): error is InputError | OptionsError | CapacityError {
  return error instanceof InputError || error instanceof OptionsError || error instanceof CapacityError;
}

/**
 * Runs one task message, the same way in every mode (embedded runner, LocalStack worker, Lambda): validates
 * it (InvalidMessageError), finds its run (UnknownRunError), ignores it when the run has ended, then runs the
 * stage. Shard tasks are idempotent (they rewrite the same bytes); reduce steps run through reduceOnce.
 * The task's stores count the bytes it moves (meteredContext): shard tasks report them with their peak RSS in
 * their completion markers, reduce steps in run.json's `metrics`.
 */
export async function executeTask(host: StageContext, body: unknown): Promise<void> {
  const ctx = meteredContext(host);
  const task = parseTaskMessage(body);
  const run = await findRun(ctx.store, task.runId);
  if (!run) throw new UnknownRunError(task.runId);
  if (run.status !== 'running') {
    ctx.log.info('run has ended; task ignored', { ...task, status: run.status });
    return;
  }
  const shardTask = SHARD_TASKS[task.stage];
  const loadReduceStep = REDUCE_STEPS[task.stage];
  try {
    if (shardTask) {
      await shardTask(ctx, task);
    } else if (loadReduceStep) {
      const reduceStep = await loadReduceStep();
      const started = performance.now();
      const ran = await reduceOnce(ctx, task, () => reduceStep(ctx, task));
      if (ran) {
        const ms = Math.round(performance.now() - started);
        const measured = measuredTask(ctx.meter, ms);
        await updateRun(ctx.store, task.runId, (record) => {
          record.timings[task.stage] = (record.timings[task.stage] ?? 0) + ms;
          record.metrics = { ...record.metrics, [task.stage]: addTaskMetrics(record.metrics?.[task.stage], measured) };
        });
      }
    } else {
      throw new UnusableLabelsError(
        run.dataset,
        `stage ${task.stage} is not available for method ${run.options.method}`,
      );
    }
  } catch (error) {
    if (!isRunFailure(error)) throw error;
    ctx.log.warn('run failed', { ...task, error: error.message });
    await markRunFailed(ctx.store, task.runId, { stage: task.stage, error: error.message }, ctx.runEnded);
  }
}
