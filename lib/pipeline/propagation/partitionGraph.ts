import { copySlots } from '../../graph/knnSearch.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { readRangeLists } from '../neighbors/ivfObjects.ts';
import type { NeighborsPlan } from '../neighbors/neighborsPlan.ts';
import type { RunOptions } from '../runOptions.ts';
import type { Collected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';

/**
 * The fanned-out propagation (docs/ARCHITECTURE.md, "Propagation fans out") splits the kNN graph by rows into
 * partitions. With approximate neighbours a partition is a cell range's rows (every row whose IVF cell is in
 * the range, from every shard): nearby cells share a range (cellRanges.ts) and a row's neighbours lie in the
 * cells it probes, so most edges stay inside their partition and an iteration reads few rows of others (its
 * boundary rows). With exact neighbours (small runs) a partition is a shard's rows. A partition's rows are its
 * members, ascending by global index, so a shard's rows in a partition are one block of it (the result tasks
 * bring rows back to input order by reading these blocks). Which partition owns a row is known to the shard
 * holding the row (route tasks, rowPartitions): no task holds an n-length array.
 */

/** How the rows are partitioned, fixed by the propagate step (run.json `partitions`). */
export interface PropagationPartitions {
  /** 'cell ranges': partition r is the rows of cell range r; 'shards': partition s is shard s's rows. */
  readonly by: 'cell ranges' | 'shards';
  readonly count: number;
}

/**
 * Cell ranges where neighbours were searched by range (approx), else shards (exact, or exact after calibration).
 * An incremental run's lists are only complete after gather merges them into the base version's
 * (incremental/incrementalIvf.ts), so it partitions by shards, which read the gathered lists. `run` is run.json's
 * fields (typed here, not as RunRecord, since run.json records these partitions: run/ imports this folder).
 */
export function choosePartitions(
  run: { readonly neighbors?: NeighborsPlan; readonly incremental?: object },
  shards: number,
): PropagationPartitions {
  const ranges = run.neighbors?.mode === 'approx' && run.incremental === undefined ? run.neighbors.ranges : undefined;
  return ranges !== undefined ? { by: 'cell ranges', count: ranges } : { by: 'shards', count: shards };
}

export function partitionsOf(run: {
  readonly runId: string;
  readonly partitions?: PropagationPartitions;
}): PropagationPartitions {
  if (run.partitions === undefined) throw new RangeError(`run ${run.runId} has no propagation partitions`);
  return run.partitions;
}

/** A partition's rows (global indices, ascending) with their neighbour lists (k per row, neighbour order). */
export interface PartitionLists {
  readonly members: Int32Array;
  readonly k: number;
  readonly indices: Int32Array;
  readonly distances: Float64Array;
}

/**
 * Reads a partition's neighbour lists (edges task): a shard's neighbors.bin, or the parts the neighbors task of
 * a cell range wrote for each shard (ranges/<r>/<s>/neighbors.bin), put in ascending row order. Refuses an empty
 * or out-of-range slot with the single-process graph's message.
 */
export async function readPartitionLists(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  partitions: PropagationPartitions,
  k: number,
  partition: number,
): Promise<PartitionLists> {
  const lists =
    partitions.by === 'shards'
      ? await shardLists(ctx, runId, collected, k, partition)
      : rowOrder(await mapConcurrently(collected.shards, async (_, s) => readRangeLists(ctx, runId, partition, s)), k);
  const { members, indices } = lists;
  if (indices.length !== members.length * k) {
    throw new RangeError(
      `neighbour lists of partition ${partition} hold ${indices.length} slots, expected ${members.length * k}`,
    );
  }
  for (let p = 0; p < indices.length; p++) {
    if (indices[p] < 0 || indices[p] >= collected.n) {
      throw new RangeError(`neighbour list of point ${members[Math.floor(p / k)]} has an empty or out-of-range slot`);
    }
  }
  return lists;
}

async function shardLists(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  k: number,
  shard: number,
): Promise<PartitionLists> {
  const { offset, rows } = collected.shards[shard];
  const members = Int32Array.from({ length: rows }, (_, i) => offset + i);
  if (rows === 0) return { members, k, indices: new Int32Array(0), distances: new Float64Array(0) };
  const [indices, distances] = unpackArrays(await ctx.store.get(keys.shardNeighbors(runId, shard))) as [
    Int32Array,
    Float64Array,
  ];
  return { members, k, indices, distances };
}

/** A range's parts (rows grouped by cell within each shard) as one list in ascending row order. */
function rowOrder(
  parts: readonly { members: Int32Array; lists: { indices: Int32Array; distances: Float64Array } }[],
  k: number,
) {
  let rows = 0;
  for (const part of parts) rows += part.members.length;
  const joined = new Int32Array(rows);
  const from = new Int32Array(rows);
  const partOf = new Int32Array(rows);
  let at = 0;
  parts.forEach((part, q) => {
    joined.set(part.members, at);
    for (let i = 0; i < part.members.length; i++) {
      from[at + i] = i;
      partOf[at + i] = q;
    }
    at += part.members.length;
  });
  const order = Int32Array.from({ length: rows }, (_, i) => i).sort((a, b) => joined[a] - joined[b]);
  const members = new Int32Array(rows);
  const indices = new Int32Array(rows * k);
  const distances = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) {
    const o = order[i];
    const { lists } = parts[partOf[o]];
    members[i] = joined[o];
    copySlots(lists, from[o] * k, { indices, distances }, i * k, k);
  }
  for (let i = 1; i < rows; i++) {
    if (members[i] === members[i - 1]) throw new RangeError(`row ${members[i]} is in a partition twice`);
  }
  return { members, k, indices, distances };
}

/**
 * A partition's edges as its later tasks read them: each edge's end as a position among the partition's own
 * rows (0 .. rows - 1, their local index) followed by its boundary rows (rows + b: boundary[b]).
 */
export interface PartitionEdges {
  readonly members: Int32Array;
  readonly k: number;
  readonly positions: Int32Array;
  /** The rows of other partitions the edges reach, ascending (global indices). */
  readonly boundary: Int32Array;
  /** knn-rbf: each edge's squared distance (rows x k), which edgeWeights turns into exp(-gamma d^2); else empty. */
  readonly distances: Float64Array;
}

/** Finds the ends of a partition's edges among its own rows and its boundary rows. */
export function partitionEdges(lists: PartitionLists, keepDistances: boolean): PartitionEdges {
  const { members, k, indices } = lists;
  const rows = members.length;
  const positions = new Int32Array(indices.length);
  const outside: number[] = [];
  for (let p = 0; p < indices.length; p++) {
    const local = lowerBound(members, indices[p]);
    if (local < rows && members[local] === indices[p]) positions[p] = local;
    else {
      positions[p] = -1;
      outside.push(indices[p]);
    }
  }
  const sorted = Int32Array.from(outside).sort();
  let m = 0;
  for (let b = 0; b < sorted.length; b++) if (b === 0 || sorted[b] !== sorted[b - 1]) sorted[m++] = sorted[b];
  const boundary = sorted.slice(0, m);
  for (let p = 0; p < indices.length; p++) {
    if (positions[p] < 0) positions[p] = rows + lowerBound(boundary, indices[p]);
  }
  const distances = keepDistances ? lists.distances : new Float64Array(0);
  return { members, k, positions, boundary, distances };
}

export function writePartitionEdges(ctx: StageContext, runId: string, partition: number, edges: PartitionEdges) {
  const { members, positions, boundary, distances } = edges;
  return ctx.store.put(keys.partitionLists(runId, partition), packArrays([members, positions, boundary, distances]));
}

export async function readPartitionEdges(
  ctx: StageContext,
  runId: string,
  partition: number,
  k: number,
): Promise<PartitionEdges> {
  const [members, positions, boundary, distances] = unpackArrays(
    await ctx.store.get(keys.partitionLists(runId, partition)),
  ) as [Int32Array, Int32Array, Int32Array, Float64Array];
  return { members, k, positions, boundary, distances };
}

/**
 * What a partition tells the route task of one shard (edges task): where the shard's rows start among its
 * members and which they are, the boundary rows of the shard it reaches, and (label spreading) the in-degree
 * contributions of its edges ending in them: end, source (global indices) and, for knn-rbf, the distance, in
 * edge order (sources ascending).
 */
export interface PartitionAsks {
  readonly start: number;
  readonly members: Int32Array;
  readonly boundary: Int32Array;
  readonly ends: Int32Array;
  readonly sources: Int32Array;
  readonly distances: Float64Array;
}

export function writePartitionAsks(
  ctx: StageContext,
  runId: string,
  shard: number,
  partition: number,
  asks: PartitionAsks,
) {
  const { start, members, boundary, ends, sources, distances } = asks;
  return ctx.store.put(
    keys.partitionAsks(runId, shard, partition),
    packArrays([Int32Array.of(start), members, boundary, ends, sources, distances]),
  );
}

export function decodePartitionAsks(bytes: Uint8Array): PartitionAsks {
  const [start, members, boundary, ends, sources, distances] = unpackArrays(bytes) as [
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Float64Array,
  ];
  return { start: start[0], members, boundary, ends, sources, distances };
}

/**
 * What the route task of a shard sends a partition about its rows in the shard: their class indices (members
 * ascending), which of them each other partition reads (readers ascending; reader e reads the local rows
 * readRows[readEnds[e - 1] .. readEnds[e])), and the in-degree contributions of edges from other partitions
 * ending in them (end as a local row, source as a global row, knn-rbf distance).
 */
export interface EdgeBucket {
  readonly y: Int32Array;
  readonly readers: Int32Array;
  readonly readEnds: Int32Array;
  readonly readRows: Int32Array;
  readonly ends: Int32Array;
  readonly sources: Int32Array;
  readonly distances: Float64Array;
}

export function encodeEdgeBucket(bucket: EdgeBucket): Uint8Array {
  const { y, readers, readEnds, readRows, ends, sources, distances } = bucket;
  return packArrays([y, readers, readEnds, readRows, ends, sources, distances]);
}

export function decodeEdgeBucket(bytes: Uint8Array): EdgeBucket {
  const [y, readers, readEnds, readRows, ends, sources, distances] = unpackArrays(bytes);
  return { y, readers, readEnds, readRows, ends, sources, distances } as EdgeBucket;
}

/** A shard's row -> partition map (route task) and where the shard's block starts in each partition. */
export interface RowPartitions {
  readonly partitionOf: Int32Array;
  readonly starts: Int32Array;
}

export function writeRowPartitions(ctx: StageContext, runId: string, shard: number, map: RowPartitions) {
  return ctx.store.put(keys.rowPartitions(runId, shard), packArrays([map.partitionOf, map.starts]));
}

export async function readRowPartitions(ctx: StageContext, runId: string, shard: number): Promise<RowPartitions> {
  const [partitionOf, starts] = unpackArrays(await ctx.store.get(keys.rowPartitions(runId, shard))) as Int32Array[];
  return { partitionOf, starts };
}

/**
 * What every iteration task of a partition reads of it (written once, by its degrees task): its edges (positions
 * among its rows and its boundary rows, the boundary rows grouped by owner: owner blocks[e] holds boundary rows
 * [blockEnds[e - 1], blockEnds[e])), who reads its rows (exports), its rows' class indices and the square roots
 * of their in-degrees (label spreading; else empty).
 */
export interface PartitionState {
  readonly positions: Int32Array;
  readonly distances: Float64Array;
  readonly owners: Int32Array;
  readonly ownerEnds: Int32Array;
  readonly readers: Int32Array;
  /** Rows read by readers[e] are readRows[ends[e - 1] .. ends[e]). */
  readonly ends: Int32Array;
  readonly readRows: Int32Array;
  readonly y: Int32Array;
  readonly degrees: Float64Array;
}

export function writePartitionState(ctx: StageContext, runId: string, partition: number, state: PartitionState) {
  const { positions, distances, owners, ownerEnds, readers, ends, readRows, y, degrees } = state;
  return ctx.store.put(
    keys.partition(runId, partition),
    packArrays([positions, distances, owners, ownerEnds, readers, ends, readRows, y, degrees]),
  );
}

export async function readPartitionState(ctx: StageContext, runId: string, partition: number): Promise<PartitionState> {
  const [positions, distances, owners, ownerEnds, readers, ends, readRows, y, degrees] = unpackArrays(
    await ctx.store.get(keys.partition(runId, partition)),
  );
  return { positions, distances, owners, ownerEnds, readers, ends, readRows, y, degrees } as PartitionState;
}

/** Maps a global row index to its shard (shards may be empty: their rows were all duplicates). */
export function shardLocator(collected: Collected): (row: number) => number {
  const ends = collected.shards.map((shard) => shard.offset + shard.rows);
  return (row) => {
    let lo = 0;
    let hi = ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid] > row) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/**
 * The affinity of an edge before normalisation, as the single-process graph weighs it: 1 (knn,
 * connectivityFromNeighbors) or exp(-gamma d^2) (knn-rbf, rbfWeightsFromNeighbors); `distance` is undefined
 * for knn.
 */
export function edgeWeight(gamma: number | undefined, distance: number | undefined): number {
  return gamma === undefined || distance === undefined ? 1 : Math.exp(-gamma * distance);
}

/** Every edge's affinity (edgeWeight), one per position. */
export function edgeWeights(positions: Int32Array, distances: Float64Array, gamma: number | undefined): Float64Array {
  const weights = new Float64Array(positions.length);
  if (distances.length === 0 || gamma === undefined) return weights.fill(1);
  for (let p = 0; p < weights.length; p++) weights[p] = Math.exp(-gamma * distances[p]);
  return weights;
}

/** The squared distance to each row's k-th neighbour where positive and finite, ascending: --gamma auto's values. */
export function kthDistances(edges: PartitionEdges): Float64Array {
  const kth: number[] = [];
  for (let i = 0; i < edges.members.length; i++) {
    const distance = edges.distances[i * edges.k + edges.k - 1];
    if (Number.isFinite(distance) && distance > 0) kth.push(distance);
  }
  return Float64Array.from(kth).sort();
}

/** knn-rbf's gamma for the fanned-out tasks (graph step: the run's, or --gamma auto's median heuristic). */
export interface ResolvedGamma {
  readonly value: number;
}

/** The run's gamma for edge weights: undefined for knn (every weight 1). */
export async function readResolvedGamma(ctx: StageContext, runId: string, options: RunOptions) {
  if (options.kernel !== 'knn-rbf') return undefined;
  return (await readJson<ResolvedGamma>(ctx.store, keys.propagationGamma(runId))).value;
}

export function lowerBound(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The rows `rows` (local indices) of an n x c row-major block, in that order. */
export function gatherRows(block: Float64Array, c: number, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length * c);
  for (let r = 0; r < rows.length; r++) {
    const from = rows[r] * c;
    for (let j = 0; j < c; j++) out[r * c + j] = block[from + j];
  }
  return out;
}

/**
 * The store requests a task keeps in flight when it reads or writes one object per partition it reaches: on S3
 * each takes tens of milliseconds, so one at a time a task reaching 32 partitions would wait about a second per
 * iteration. The objects together are what the task holds anyway (the reached rows' values).
 */
export const PARTITION_REQUESTS_IN_FLIGHT = 16;

/** Runs `work` on every item, at most `limit` at a time. */
export async function forEachInFlight<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * Writes a partition's block (F of an iteration, or its degrees) for each partition that reads it: the rows that
 * partition reaches, under `keyFor(reader)`.
 */
export async function writeExports(
  ctx: StageContext,
  state: Pick<PartitionState, 'readers' | 'ends' | 'readRows'>,
  block: Float64Array,
  c: number,
  keyFor: (reader: number) => string,
): Promise<void> {
  const { readers, ends, readRows } = state;
  await forEachInFlight(Array.from(readers.keys()), PARTITION_REQUESTS_IN_FLIGHT, async (e) => {
    const rows = readRows.subarray(e === 0 ? 0 : ends[e - 1], ends[e]);
    await ctx.store.put(keyFor(readers[e]), packArrays([gatherRows(block, c, rows)]));
  });
}

/**
 * Reads the values (c per row) of a partition's boundary rows into `out` from row `at` on, in boundary order:
 * each owner's export for this partition, read from `keyFor(owner)`.
 */
export async function readBoundary(
  ctx: StageContext,
  state: Pick<PartitionState, 'owners' | 'ownerEnds'>,
  out: Float64Array,
  at: number,
  c: number,
  keyFor: (owner: number) => string,
): Promise<void> {
  const { owners, ownerEnds } = state;
  await forEachInFlight(Array.from(owners.keys()), PARTITION_REQUESTS_IN_FLIGHT, async (e) => {
    const from = e === 0 ? 0 : ownerEnds[e - 1];
    const [values] = unpackArrays(await ctx.store.get(keyFor(owners[e]))) as Float64Array[];
    if (values.length !== (ownerEnds[e] - from) * c) {
      throw new Error(`${keyFor(owners[e])} holds ${values.length} values, expected ${(ownerEnds[e] - from) * c}`);
    }
    out.set(values, (at + from) * c);
  });
}

/**
 * Unlabelled rows of an n x c block of F whose row does not sum above 0: no label has reached them. Their
 * normalised row stays 0 too, so they are the rows outcomeFromDistributions reports with source none.
 */
export function unreachedRows(F: Float64Array, c: number, y: Int32Array): number {
  let count = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] >= 0) continue;
    let total = 0;
    for (let j = 0; j < c; j++) total += F[i * c + j];
    if (!(total > 0)) count++;
  }
  return count;
}
