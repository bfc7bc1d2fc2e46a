import { buildIvfCells, ivfCellSizes } from '../../graph/ivf/ivfIndex.ts';
import { calibrationPartial } from '../../graph/ivf/nprobeCalibration.ts';
import { firstCells, KEPT_NEAREST_CELLS, nearestCells } from '../../graph/ivf/probeCells.ts';
import { encodeRows } from '../../linalg/int16Codes.ts';
import { loadShardRows, readCollected } from '../collected.ts';
import { completeShardTask } from '../fanIn.ts';
import { readIvfTraining, writeShardCalibration, writeShardCells, writeShardNearestCells } from '../ivfObjects.ts';
import { readRun } from '../runRecord.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * cells (shard task, approximate neighbours): puts this shard's rows into the IVF cells of their nearest
 * centroid (the inverted lists every neighbors task searches, with their code words), and computes this
 * shard's part of the nprobe calibration: the exact k nearest of the calibration queries among its rows, with
 * their cells. It keeps each row's few nearest cells, where this shard's neighbors task starts its probe lists.
 */
export async function cellsStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const { model, queries, codes } = await readIvfTraining(ctx, task.runId);
  const rows = await loadShardRows(ctx, task.runId, task.shard, collected);
  const offset = collected.shards[task.shard].offset;
  const nearest = nearestCells(model, rows.X, Math.min(KEPT_NEAREST_CELLS, model.nlist));
  const assignment = firstCells(nearest);
  const built = buildIvfCells(model, rows.X, offset, assignment);
  // The members' code words under the run's codes, made once here for every search of these cells.
  const cells =
    codes === undefined
      ? built
      : { ...built, coded: { codes, words: encodeRows(codes, built.vectors, built.members.length) } };
  const lists = calibrationPartial(model, queries, rows.X, offset, run.options.neighbors, { assignment, cells });
  await writeShardCells(ctx, task.runId, task.shard, cells);
  await writeShardNearestCells(ctx, task.runId, task.shard, nearest);
  await writeShardCalibration(ctx, task.runId, task.shard, { cellSizes: ivfCellSizes([cells]), lists });
  await completeShardTask(ctx, task, collected.shards.length, 'calibrate', {
    ms: Math.round(performance.now() - started),
    rows: rows.X.n,
  });
}
