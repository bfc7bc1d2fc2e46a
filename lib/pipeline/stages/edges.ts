import { packArrays } from '../binaryArrays.ts';
import { keys } from '../keys.ts';
import {
  forEachInFlight,
  kthDistances,
  lowerBound,
  PARTITION_REQUESTS_IN_FLIGHT,
  type PartitionAsks,
  type PartitionEdges,
  partitionEdges,
  partitionsOf,
  readPartitionLists,
  shardLocator,
  writePartitionAsks,
  writePartitionEdges,
} from '../propagation/partitionGraph.ts';
import { sampleOf } from '../propagation/sortedPartsMedian.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * edges (task per partition, first pass of the fanned-out propagation): reads the partition's neighbour lists
 * (partitionGraph.ts), puts its rows in ascending order and finds each edge's end among its own rows or its
 * boundary rows (the rows of other partitions it reaches), which it stores for the partition's degrees task.
 * Which partition owns a boundary row is known to the row's shard, so it asks each shard's route task: it
 * writes, per shard, its members there (from which the shard learns its rows' partitions), the shard's boundary
 * rows it reaches and, for label spreading, the in-degree contributions of its edges ending in them (scipy's
 * laplacian sums columns, the diagonal left out: end, source and, for knn-rbf, the distance). Contributions to
 * its own rows stay in its lists. For --gamma auto it writes its rows' k-th neighbour distances for the graph
 * step's median.
 * Memory: the partition's lists.
 */
export async function edgesStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const partitions = partitionsOf(run);
  const { runId, shard: partition } = task;
  const rbf = run.options.kernel === 'knn-rbf';
  const lists = await readPartitionLists(ctx, runId, collected, partitions, run.options.neighbors, partition);
  const edges = partitionEdges(lists, rbf);
  await writePartitionEdges(ctx, runId, partition, edges);
  if (rbf && run.options.gamma === 'auto') {
    const kth = kthDistances(edges);
    await ctx.store.put(keys.partitionKth(runId, partition), packArrays([kth]));
    await ctx.store.put(
      keys.partitionKthSample(runId, partition),
      packArrays([sampleOf(kth), Int32Array.of(kth.length)]),
    );
  }
  const asks = shardAsks(edges, collected.shards, shardLocator(collected), run.options.method === 'label-spreading');
  await forEachInFlight([...asks.keys()], PARTITION_REQUESTS_IN_FLIGHT, (s) =>
    writePartitionAsks(ctx, runId, s, partition, asks.get(s)!),
  );
  await completeShardTask(ctx, task, partitions.count, 'graph', {
    ms: Math.round(performance.now() - started),
    rows: edges.members.length,
  });
}

/** The partition's asks of each shard where it has members or boundary rows (shards ascending). */
function shardAsks(
  edges: PartitionEdges,
  shards: readonly { offset: number; rows: number }[],
  locate: (row: number) => number,
  spreading: boolean,
): Map<number, PartitionAsks> {
  const { members, k, positions, boundary, distances } = edges;
  const rows = members.length;
  // Contributions to boundary rows, in edge order, grouped by the shard of their end: counted, then filled.
  const shardOf = (p: number) => locate(boundary[positions[p] - rows]);
  const counts = new Int32Array(shards.length);
  if (spreading) for (let p = 0; p < positions.length; p++) if (positions[p] >= rows) counts[shardOf(p)]++;
  const sent = Array.from(counts, (count) => ({
    ends: new Int32Array(count),
    sources: new Int32Array(count),
    distances: new Float64Array(distances.length > 0 ? count : 0),
  }));
  counts.fill(0);
  if (spreading) {
    for (let p = 0; p < positions.length; p++) {
      if (positions[p] < rows) continue;
      const s = shardOf(p);
      const at = counts[s]++;
      sent[s].ends[at] = boundary[positions[p] - rows];
      sent[s].sources[at] = members[Math.floor(p / k)];
      if (distances.length > 0) sent[s].distances[at] = distances[p];
    }
  }
  const asks = new Map<number, PartitionAsks>();
  for (let s = 0; s < shards.length; s++) {
    const { offset, rows: count } = shards[s];
    const from = lowerBound(members, offset);
    const to = lowerBound(members, offset + count);
    const reachedFrom = lowerBound(boundary, offset);
    const reachedTo = lowerBound(boundary, offset + count);
    if (from === to && reachedFrom === reachedTo) continue;
    asks.set(s, {
      start: from,
      members: members.subarray(from, to),
      boundary: boundary.subarray(reachedFrom, reachedTo),
      ...sent[s],
    });
  }
  return asks;
}
