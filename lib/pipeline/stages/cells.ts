import { type CellRanges, rangeCells } from '../../graph/ivf/cellRanges.ts';
import { buildIvfCells, type IvfCells, ivfCellSizes } from '../../graph/ivf/ivfIndex.ts';
import { calibrationPartial } from '../../graph/ivf/nprobeCalibration.ts';
import { firstCells, KEPT_NEAREST_CELLS, type NearestCells, nearestCells } from '../../graph/ivf/probeCells.ts';
import { encodeRows } from '../../linalg/int16Codes.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { baseCalibrationLimits, copyReusedCells } from '../incremental/incrementalIvf.ts';
import {
  type RangeCellsPart,
  readIvfTraining,
  writeRangeCells,
  writeShardCalibration,
} from '../neighbors/ivfObjects.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { loadShardRows, readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * cells (shard task, approximate neighbours): puts this shard's rows into the IVF cells of their nearest
 * centroid (the inverted lists the neighbors tasks search, with their code words) and writes them by cell range,
 * one object per range (with each row's few nearest cells, where its probe list starts as a query), so that a
 * neighbors task reads only the ranges it probes. It also computes this shard's part of the nprobe calibration:
 * the exact k nearest of the calibration queries among its rows, with their cells.
 */
export async function cellsStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const { model, queries, codes, ranges } = await readIvfTraining(ctx, task.runId);
  const copied = await copyReusedCells(ctx, run, collected, task.shard, ranges.count);
  if (copied !== undefined) {
    const ms = Math.round(performance.now() - started);
    await completeShardTask(ctx, task, collected.shards.length, 'calibrate', { ms, rows: copied, reused: true });
    return;
  }
  const rows = await loadShardRows(ctx, task.runId, task.shard, collected);
  const offset = collected.shards[task.shard].offset;
  const nearest = nearestCells(model, rows.X, Math.min(KEPT_NEAREST_CELLS, model.nlist), codes);
  const assignment = firstCells(nearest);
  const built = buildIvfCells(model, rows.X, offset, assignment);
  // The members' code words under the run's codes, made once here for every search of these cells.
  const cells =
    codes === undefined
      ? built
      : { ...built, coded: { codes, words: encodeRows(codes, built.vectors, built.members.length) } };
  const k = run.options.neighbors;
  // A new shard of a run on the base's index: only rows nearer than the base's k-th neighbours can be listed.
  const limits = await baseCalibrationLimits(ctx, run, k);
  const lists = calibrationPartial(model, queries, rows.X, offset, k, { assignment, cells }, limits && { limits });
  const parts = rangeParts(cells, nearest, offset, ranges);
  await mapConcurrently(parts, (part, r) => writeRangeCells(ctx, task.runId, r, task.shard, part));
  await writeShardCalibration(ctx, task.runId, task.shard, { cellSizes: ivfCellSizes([cells]), lists });
  await completeShardTask(ctx, task, collected.shards.length, 'calibrate', {
    ms: Math.round(performance.now() - started),
    rows: rows.X.n,
  });
}

/** The shard's cells split by range, each range's cells ascending, with the members' nearest cells. */
function rangeParts(cells: IvfCells, nearest: NearestCells, offset: number, ranges: CellRanges): RangeCellsPart[] {
  const { d, offsets } = cells;
  const words = cells.coded?.words ?? new Int32Array(0);
  const pairs = cells.coded?.codes.pairs ?? 0;
  const width = nearest.width;
  const { starts, cells: byRange } = rangeCells(ranges);
  const parts: RangeCellsPart[] = [];
  for (let r = 0; r < ranges.count; r++) {
    const own = byRange.subarray(starts[r], starts[r + 1]);
    const partOffsets = new Int32Array(own.length + 1);
    for (let i = 0; i < own.length; i++) partOffsets[i + 1] = partOffsets[i] + offsets[own[i] + 1] - offsets[own[i]];
    const size = partOffsets[own.length];
    const part: RangeCellsPart = {
      offsets: partOffsets,
      members: new Int32Array(size),
      vectors: new Float32Array(size * d),
      norms: new Float64Array(size),
      words: new Int32Array(size * pairs),
      nearestWidth: width,
      nearest: new Int32Array(size * width),
    };
    for (let i = 0; i < own.length; i++) {
      const from = offsets[own[i]];
      const to = offsets[own[i] + 1];
      const at = partOffsets[i];
      part.members.set(cells.members.subarray(from, to), at);
      part.vectors.set(cells.vectors.subarray(from * d, to * d), at * d);
      part.norms.set(cells.norms.subarray(from, to), at);
      part.words.set(words.subarray(from * pairs, to * pairs), at * pairs);
      for (let e = from; e < to; e++) {
        const row = cells.members[e] - offset;
        part.nearest.set(nearest.cells.subarray(row * width, (row + 1) * width), (at + e - from) * width);
      }
    }
    parts.push(part);
  }
  return parts;
}
