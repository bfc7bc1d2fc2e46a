import type { CalibrationLists } from '../../graph/ivf/nprobeCalibration.ts';
import { calibrateNprobe, mergeCalibrationLists } from '../../graph/ivf/nprobeCalibration.ts';
import { EXACT_SECONDS_PER_PAIR_FEATURE } from '../capacity.ts';
import { buildsOnBaseLists } from '../incremental/incrementalIvf.ts';
import { readIvfTraining, readShardCalibration, writeIvfModel } from '../neighbors/ivfObjects.ts';
import { exactKernelFor, MAX_PROBED_SHARE, TARGET_RECALL } from '../neighbors/neighborsPlan.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/**
 * calibrate (reduce step, after every cells task): merges the shards' exact lists of the calibration queries,
 * picks the smallest nprobe whose estimated recall@k reaches TARGET_RECALL (nprobeCalibration.ts), and fans
 * out the probes tasks, one per shard, which route every row as a query to the cell ranges it probes (an
 * incremental run whose lists build on the base's goes to its neighbors tasks at once, one per cell range). When
 * that nprobe probes more than MAX_PROBED_SHARE of the cells (data without cluster structure), IVF would cost
 * about as much as exact search, so the run falls back to exact search.
 */
export async function calibrateStage(ctx: StageContext, task: TaskMessage): Promise<{ tasks: TaskMessage[] }> {
  const collected = await readCollected(ctx, task.runId);
  const training = await readIvfTraining(ctx, task.runId);
  const cellSizes = new Int32Array(training.model.nlist);
  let lists: CalibrationLists | undefined;
  for (let s = 0; s < collected.shards.length; s++) {
    const part = await readShardCalibration(ctx, task.runId, s);
    for (let c = 0; c < cellSizes.length; c++) cellSizes[c] += part.cellSizes[c];
    lists = lists ? mergeCalibrationLists(lists, part.lists) : part.lists;
  }
  if (!lists) throw new RangeError(`run ${task.runId} has no shards to calibrate`);
  const { model, recallCurve } = calibrateNprobe(training.model, training.queries, lists, TARGET_RECALL);
  const { nlist, nprobe } = model;
  const estimatedRecall = recallCurve[nprobe - 1];
  const kernel = exactKernelFor(collected.n);
  // Exact search only where the host's tasks can finish it (capacity.ts); else IVF with the calibrated nprobe.
  const run = await readRun(ctx.store, task.runId);
  const { host } = run;
  const largestShard = Math.max(...collected.shards.map((shard) => shard.rows));
  const exactSeconds = largestShard * collected.n * collected.d * EXACT_SECONDS_PER_PAIR_FEATURE;
  const fallBack = nprobe > MAX_PROBED_SHARE * nlist && exactSeconds <= (host?.taskSeconds ?? Number.POSITIVE_INFINITY);
  const { ranges } = training;
  const approxPlan = {
    mode: 'approx' as const,
    kernel,
    reason: run.neighbors?.reason ?? 'approximate search',
    nlist,
    nprobe,
    estimatedRecall,
    ranges: ranges.count,
  };
  const routed = !fallBack && !(await buildsOnBaseLists(ctx, { ...run, neighbors: approxPlan }, collected));
  await writeIvfModel(ctx, task.runId, {
    model,
    cellSizes,
    ranges,
    ...(training.codes ? { codes: training.codes } : {}),
  });
  const record = await updateRun(ctx.store, task.runId, (run) => {
    run.neighbors = fallBack
      ? {
          mode: 'exact',
          kernel,
          reason: `IVF needs ${nprobe} of ${nlist} cells for recall ${TARGET_RECALL}: exact search costs about the same`,
        }
      : { ...approxPlan, ...(routed ? { queriesRouted: true } : {}) };
    run.stage = routed ? 'probes' : 'neighbors';
  });
  ctx.log.info('neighbour search calibrated', { runId: task.runId, ...record.neighbors });
  // Approx: one probes task per shard (or, building on the base's lists, one neighbors task per cell range, its
  // number in `shard`); exact: one neighbors task per shard.
  const [stage, tasks] = routed
    ? (['probes', collected.shards.length] as const)
    : (['neighbors', fallBack ? collected.shards.length : ranges.count] as const);
  return { tasks: Array.from({ length: tasks }, (_, shard) => taskMessage(task.runId, stage, 0, shard)) };
}
