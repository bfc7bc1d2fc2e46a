import type { CalibrationLists } from '../../graph/ivf/nprobeCalibration.ts';
import { calibrateNprobe, mergeCalibrationLists } from '../../graph/ivf/nprobeCalibration.ts';
import { readCollected } from '../collected.ts';
import { readIvfTraining, readShardCalibration, writeIvfModel } from '../ivfObjects.ts';
import { exactKernelFor, MAX_PROBED_SHARE, TARGET_RECALL } from '../neighborsPlan.ts';
import { updateRun } from '../runRecord.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/**
 * calibrate (reduce step, after every cells task): merges the shards' exact lists of the calibration queries,
 * picks the smallest nprobe whose estimated recall@k reaches TARGET_RECALL (nprobeCalibration.ts), and fans
 * out the neighbors tasks. When that nprobe probes more than MAX_PROBED_SHARE of the cells (data without
 * cluster structure), IVF would cost about as much as exact search, so the run falls back to exact search.
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
  const fallBack = nprobe > MAX_PROBED_SHARE * nlist;
  await writeIvfModel(ctx, task.runId, { model, cellSizes, ...(training.codes ? { codes: training.codes } : {}) });
  const record = await updateRun(ctx.store, task.runId, (run) => {
    run.neighbors = fallBack
      ? {
          mode: 'exact',
          kernel,
          reason: `IVF needs ${nprobe} of ${nlist} cells for recall ${TARGET_RECALL}: exact search costs about the same`,
        }
      : {
          mode: 'approx',
          kernel,
          reason: run.neighbors?.reason ?? 'approximate search',
          nlist,
          nprobe,
          estimatedRecall,
        };
    run.stage = 'neighbors';
  });
  ctx.log.info('neighbour search calibrated', { runId: task.runId, ...record.neighbors });
  return { tasks: collected.shards.map((_, shard) => taskMessage(task.runId, 'neighbors', 0, shard)) };
}
