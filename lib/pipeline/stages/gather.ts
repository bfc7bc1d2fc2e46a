import { copySlots, emptyKnnResult, type KnnResult } from '../../graph/knnSearch.ts';
import { offerTopK } from '../../linalg/topK.ts';
import { packArrays } from '../binaryArrays.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { offeredRangeLists, recordShardLists } from '../incremental/incrementalIvf.ts';
import { keys } from '../keys.ts';
import { readRangeLists, writeRangeLists } from '../neighbors/ivfObjects.ts';
import { readPartialLists } from '../neighbors/routedQueries.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { type RunRecord, readRun } from '../run/runRecord.ts';
import type { Collected } from '../shards/collected.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * gather (shard task, approximate neighbours, after every range's neighbors task): merges the partial lists that
 * the range tasks found for this shard's rows (one per range a row probes: the k nearest among that range's
 * members) into each row's k nearest by (distance, global index), the order of every list, so the result is the
 * list of one search over all the row's probed cells, bit for bit (the ranges' members are disjoint). It writes
 * neighbors.bin (the shard's rows in row order, as exact mode writes it for propagation) and, where the
 * propagation fans out by cell range or the run publishes a dataset version, each range's rows' lists
 * (ranges/<r>/<s>/neighbors.bin, in the order of their cells object), which the edges tasks and the version's
 * index read. In an incremental run (incrementalIvf.ts) it assembles the final lists the range tasks wrote for a
 * new shard, and for an old shard the base version's lists with the range tasks' offers of new rows merged in
 * (offeredRangeLists), into neighbors.bin. Reads only this shard's lists: its rows times the ranges they probe.
 */
export async function gatherStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const ranges = run.neighbors?.ranges;
  if (ranges === undefined) throw new RangeError(`run ${task.runId} has no cell ranges to gather`);
  const { rows } = collected.shards[task.shard];
  const lists = run.neighbors?.queriesRouted
    ? await mergePartialLists(ctx, run, collected, task.shard, ranges)
    : await assembleRangeLists(ctx, run, collected, task.shard, ranges);
  await recordShardLists(ctx, run, collected, task.shard);
  // The shard's lists in row order, unless the propagation reads them by range (fixed by the lists step).
  if (run.partitions === undefined) {
    await ctx.store.put(keys.shardNeighbors(task.runId, task.shard), packArrays([lists.indices, lists.distances]));
  }
  await completeShardTask(ctx, task, collected.shards.length, 'propagate', {
    ms: Math.round(performance.now() - started),
    rows,
  });
}

/** Checks that a list's row is the shard's and not placed before. */
function place(shard: number, rows: number, offset: number, placed: Uint8Array, member: number): number {
  const row = member - offset;
  if (!(row >= 0 && row < rows) || placed[row] === 1) {
    throw new Error(`neighbour lists of shard ${shard}: global row ${member} out of place or repeated`);
  }
  placed[row] = 1;
  return row;
}

/**
 * The shard's lists from the ranges' partial lists: every entry offered to its row's list (offerTopK keeps the k
 * first by (distance, index), a total order, so the order of the ranges does not matter). Each row is a range's
 * own row exactly once; where the run reads lists by range, that range's part of them is written here.
 */
async function mergePartialLists(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
  shard: number,
  ranges: number,
): Promise<KnnResult> {
  const { rows, offset } = collected.shards[shard];
  const k = run.options.neighbors;
  const lists = emptyKnnResult(rows, k);
  const { indices, distances } = lists;
  const placed = new Uint8Array(rows);
  const own: Int32Array[] = [];
  const everyRange = Array.from({ length: ranges }, (_, r) => r);
  // A shard without rows has no partial lists (no range task searched any of its rows).
  const parts = rows === 0 ? [] : await mapConcurrently(everyRange, (r) => readPartialLists(ctx, run.runId, r, shard));
  parts.forEach((part, r) => {
    if (part.lists.k !== k)
      throw new Error(`partial lists of range ${r}, shard ${shard}: k = ${part.lists.k}, not ${k}`);
    own.push(part.members.subarray(0, part.own));
    for (let i = 0; i < part.own; i++) place(shard, rows, offset, placed, part.members[i]);
    for (let i = 0; i < part.members.length; i++) {
      const row = part.members[i] - offset;
      if (!(row >= 0 && row < rows))
        throw new Error(`partial lists of range ${r}: global row ${part.members[i]} is not shard ${shard}'s`);
      for (let j = i * k; j < (i + 1) * k && part.lists.indices[j] >= 0; j++) {
        offerTopK(distances, indices, row * k, k, part.lists.distances[j], part.lists.indices[j]);
      }
    }
  });
  const count = placed.reduce((total, flag) => total + flag, 0);
  if (count !== rows) throw new Error(`neighbour lists of shard ${shard}: ${count} of its ${rows} rows found`);
  if (run.partitions?.by === 'cell ranges' || run.versioned) {
    await mapConcurrently(everyRange, (r) => {
      const members = own[r] ?? new Int32Array(0);
      const part = emptyKnnResult(members.length, k);
      members.forEach((member, i) => {
        const row = member - offset;
        copySlots({ indices, distances }, row * k, part, i * k, k);
      });
      return writeRangeLists(ctx, run.runId, r, shard, { members, lists: part });
    });
  }
  return lists;
}

/** The shard's lists from the final lists of its rows per range (an incremental run's). */
async function assembleRangeLists(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
  shard: number,
  ranges: number,
): Promise<KnnResult> {
  const { rows, offset } = collected.shards[shard];
  const k = run.options.neighbors;
  const lists = emptyKnnResult(rows, k);
  const placed = new Uint8Array(rows);
  let count = 0;
  // An old shard's lists: the base's with the range tasks' offers of new rows merged in.
  const parts =
    (await offeredRangeLists(ctx, run, collected, shard, ranges)) ??
    (await mapConcurrently(
      Array.from({ length: ranges }, (_, r) => r),
      (r) => readRangeLists(ctx, run.runId, r, shard),
    ));
  for (const { members, lists: part } of parts) {
    for (let i = 0; i < members.length; i++) {
      const row = place(shard, rows, offset, placed, members[i]);
      count++;
      copySlots(part, i * k, lists, row * k, k);
    }
  }
  if (count !== rows) throw new Error(`neighbour lists of shard ${shard}: ${count} of its ${rows} rows found`);
  return lists;
}
