import { initialDistributions } from '../../algorithms/propagation.ts';
import { sqrtWithGuard } from '../../graph/normalizedLaplacian.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { keys } from '../keys.ts';
import {
  decodeEdgeBucket,
  type EdgeBucket,
  edgeWeight,
  forEachInFlight,
  PARTITION_REQUESTS_IN_FLIGHT,
  type PartitionEdges,
  partitionsOf,
  readPartitionEdges,
  readResolvedGamma,
  shardLocator,
  unreachedRows,
  writeExports,
  writePartitionState,
} from '../propagation/partitionGraph.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * degrees (task per partition, after every route task): completes what every iteration of the partition reads.
 * It reads its edges (edges task) and the buckets the shards' route tasks sent it, in shard order, and
 * - takes its rows' class indices from the buckets, and records who reads its rows (the exports: which
 *   partitions reach which of its rows);
 * - groups its boundary rows by the partition owning them (the route tasks' answers), so that each owner's rows
 *   are one block of what an iteration reads;
 * - label spreading: sums its rows' in-degrees from the contributions (its own edges' and the buckets'), sources
 *   ascending as in normalizedLaplacianAffinity's loop over rows (the same doubles), takes their square roots
 *   (zero degree counted as 1) and writes them for itself and for each partition that reaches them;
 * - writes F0 (one-hot rows of the given labels) for itself and for each partition that reaches its rows.
 * Its completion marker carries sum |F0| of its rows, the first residual of the convergence test.
 * Memory: the partition's edges, the edges into its rows and its rows x classes.
 */
export async function degreesStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const { runId, shard: partition } = task;
  const run = await readRun(ctx.store, runId);
  const collected = await readCollected(ctx, runId);
  const k = run.options.neighbors;
  const spreading = run.options.method === 'label-spreading';
  const gamma = spreading ? await readResolvedGamma(ctx, runId, run.options) : undefined;
  const edges = await readPartitionEdges(ctx, runId, partition, k);
  const rows = edges.members.length;
  const prefix = keys.edgeBuckets(runId, partition);
  const buckets: EdgeBucket[] = [];
  for (const info of await ctx.store.list(prefix)) buckets.push(decodeEdgeBucket(await ctx.store.get(info.key)));

  const y = new Int32Array(rows);
  let filled = 0;
  const readBy = new Map<number, Int32Array[]>();
  for (const bucket of buckets) {
    if (filled + bucket.y.length > rows)
      throw new Error(`partition ${partition}: buckets hold more than its ${rows} rows`);
    y.set(bucket.y, filled);
    filled += bucket.y.length;
    bucket.readers.forEach((reader, e) => {
      const rowsRead = bucket.readRows.subarray(e === 0 ? 0 : bucket.readEnds[e - 1], bucket.readEnds[e]);
      const parts = readBy.get(reader);
      if (parts) parts.push(rowsRead);
      else readBy.set(reader, [rowsRead]);
    });
  }
  if (filled !== rows) throw new Error(`partition ${partition}: buckets hold ${filled} of its ${rows} rows`);
  const readers = Int32Array.from(readBy.keys()).sort();
  const ends = new Int32Array(readers.length);
  let total = 0;
  for (const parts of readBy.values()) for (const part of parts) total += part.length;
  const readRows = new Int32Array(total);
  let at = 0;
  readers.forEach((reader, e) => {
    for (const part of readBy.get(reader)!) {
      readRows.set(part, at);
      at += part.length;
    }
    ends[e] = at;
  });
  const exports = { readers, ends, readRows };

  const degrees = spreading ? inDegrees(edges, buckets, gamma) : new Float64Array(0);
  const { positions, owners, ownerEnds } = await byOwner(ctx, runId, partition, edges, shardLocator(collected));
  await writePartitionState(ctx, runId, partition, {
    positions,
    distances: edges.distances,
    owners,
    ownerEnds,
    ...exports,
    y,
    degrees,
  });
  if (spreading) {
    await writeExports(ctx, exports, degrees, 1, (reader) => keys.partitionDegreesFor(runId, partition, reader));
  }
  const c = collected.classes.length;
  const F0 = initialDistributions(y, c);
  let delta = 0;
  for (let p = 0; p < F0.length; p++) delta += Math.abs(F0[p]);
  await ctx.store.put(keys.partitionRows(runId, 0, partition), packArrays([F0]));
  await writeExports(ctx, exports, F0, c, (reader) => keys.partitionRowsFor(runId, 0, partition, reader));
  await completeShardTask(ctx, task, partitionsOf(run).count, 'converge', {
    ms: Math.round(performance.now() - started),
    rows,
    delta,
    unreached: unreachedRows(F0, c, y),
  });
}

/**
 * Square roots of the rows' in-degrees (scipy's laplacian: column sums without the diagonal, zero counted as 1),
 * each sum taken over its sources ascending, as the single-process loop over rows adds them.
 */
function inDegrees(edges: PartitionEdges, buckets: readonly EdgeBucket[], gamma: number | undefined): Float64Array {
  const { members, k, positions, distances } = edges;
  const rows = members.length;
  let count = 0;
  for (let p = 0; p < positions.length; p++) if (positions[p] < rows && positions[p] !== Math.floor(p / k)) count++;
  for (const bucket of buckets) count += bucket.ends.length;
  const ends = new Int32Array(count);
  const sources = new Int32Array(count);
  const weights = new Float64Array(count);
  let at = 0;
  for (let p = 0; p < positions.length; p++) {
    const i = Math.floor(p / k);
    if (positions[p] >= rows || positions[p] === i) continue;
    ends[at] = positions[p];
    sources[at] = members[i];
    weights[at++] = edgeWeight(gamma, distances.length > 0 ? distances[p] : undefined);
  }
  for (const bucket of buckets) {
    for (let e = 0; e < bucket.ends.length; e++) {
      ends[at] = bucket.ends[e];
      sources[at] = bucket.sources[e];
      weights[at++] = edgeWeight(gamma, bucket.distances.length > 0 ? bucket.distances[e] : undefined);
    }
  }
  const order = Int32Array.from({ length: count }, (_, e) => e).sort((a, b) => sources[a] - sources[b] || a - b);
  const degrees = new Float64Array(rows);
  for (const e of order) degrees[ends[e]] += weights[e];
  sqrtWithGuard(degrees);
  return degrees;
}

/**
 * The partition's boundary rows grouped by owning partition (owners ascending, each owner's rows ascending), and
 * its edges' positions renumbered to match: the owners come from the route tasks of the rows' shards.
 */
async function byOwner(
  ctx: StageContext,
  runId: string,
  partition: number,
  edges: PartitionEdges,
  locate: (row: number) => number,
): Promise<{ positions: Int32Array; owners: Int32Array; ownerEnds: Int32Array }> {
  const { members, boundary } = edges;
  const rows = members.length;
  const ownerOf = new Int32Array(boundary.length);
  const runs: [number, number, number][] = [];
  for (let from = 0; from < boundary.length; ) {
    const s = locate(boundary[from]);
    let to = from;
    while (to < boundary.length && locate(boundary[to]) === s) to++;
    runs.push([s, from, to]);
    from = to;
  }
  await forEachInFlight(runs, PARTITION_REQUESTS_IN_FLIGHT, async ([s, from, to]) => {
    const [owners] = unpackArrays(await ctx.store.get(keys.boundaryOwners(runId, partition, s))) as Int32Array[];
    if (owners.length !== to - from) {
      throw new Error(
        `owners of partition ${partition}'s boundary rows in shard ${s}: ${owners.length}, expected ${to - from}`,
      );
    }
    ownerOf.set(owners, from);
  });
  const order = Int32Array.from(boundary.keys()).sort((a, b) => ownerOf[a] - ownerOf[b] || a - b);
  const rank = new Int32Array(boundary.length);
  order.forEach((b, r) => {
    rank[b] = r;
  });
  const positions = Int32Array.from(edges.positions, (p) => (p < rows ? p : rows + rank[p - rows]));
  const owners: number[] = [];
  const ownerEnds: number[] = [];
  order.forEach((b, r) => {
    if (owners.at(-1) !== ownerOf[b]) {
      owners.push(ownerOf[b]);
      ownerEnds.push(r);
    }
    ownerEnds[ownerEnds.length - 1] = r + 1;
  });
  return { positions, owners: Int32Array.from(owners), ownerEnds: Int32Array.from(ownerEnds) };
}
