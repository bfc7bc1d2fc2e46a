import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import type { RunOptions } from '../runOptions.ts';
import type { Collected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';

/**
 * The fanned-out propagation (docs/ARCHITECTURE.md, "Propagation fans out") splits the kNN graph by rows: a
 * partition is a shard's rows with their neighbour lists (its neighbors.bin). Its edges reach rows of other
 * partitions; a task of the partition reads only what those rows bring (their normalisers, their previous F),
 * which the partitions that own them write for it, so no task holds an n-length array.
 */

/** A partition's rows, their edges (row-major, k per row, neighbour order) and the rows the edges reach. */
export interface PartitionEdges {
  readonly shard: number;
  /** Global index of the partition's first row. */
  readonly offset: number;
  readonly rows: number;
  readonly k: number;
  /** knn-rbf: each edge's squared distance (rows x k), which edgeWeights turns into exp(-gamma d^2); knn: empty. */
  readonly distances: Float64Array;
  /** The distinct rows the edges reach, ascending (global indices). */
  readonly reached: Int32Array;
  /** Where each edge's end is in `reached` (rows x k): the end of edge p is reached[positions[p]]. */
  readonly positions: Int32Array;
  /** The partitions reached, ascending, each with its block [from, to) of `reached`. */
  readonly blocks: readonly ReachedBlock[];
}

export interface ReachedBlock {
  readonly shard: number;
  readonly from: number;
  readonly to: number;
}

/** Maps a global row index to its partition (shards may be empty: their rows were all duplicates). */
export function partitionLocator(collected: Collected): (row: number) => number {
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
 * Reads a partition's neighbour lists, refusing an empty or out-of-range slot with the single-process graph's
 * message, and finds the rows they reach (edges task; the iterate tasks read the result, writePartitionEdges).
 */
export async function buildPartitionEdges(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  options: RunOptions,
  shard: number,
): Promise<PartitionEdges> {
  const { offset, rows } = collected.shards[shard];
  const k = options.neighbors;
  const [indices, distances] =
    rows === 0
      ? [new Int32Array(0), new Float64Array(0)]
      : (unpackArrays(await ctx.store.get(keys.shardNeighbors(runId, shard))) as [Int32Array, Float64Array]);
  if (indices.length !== rows * k) {
    throw new RangeError(`neighbour lists of shard ${shard} hold ${indices.length} slots, expected ${rows * k}`);
  }
  for (let p = 0; p < indices.length; p++) {
    if (indices[p] < 0 || indices[p] >= collected.n) {
      throw new RangeError(`neighbour list of point ${offset + Math.floor(p / k)} has an empty or out-of-range slot`);
    }
  }
  const sorted = Int32Array.from(indices).sort();
  let m = 0;
  for (let p = 0; p < sorted.length; p++) if (p === 0 || sorted[p] !== sorted[p - 1]) sorted[m++] = sorted[p];
  const reached = sorted.slice(0, m);
  const positions = new Int32Array(indices.length);
  for (let p = 0; p < indices.length; p++) positions[p] = lowerBound(reached, indices[p]);
  const locate = partitionLocator(collected);
  const blocks: ReachedBlock[] = [];
  for (let from = 0; from < m; ) {
    const t = locate(reached[from]);
    const end = collected.shards[t].offset + collected.shards[t].rows;
    let to = from;
    while (to < m && reached[to] < end) to++;
    blocks.push({ shard: t, from, to });
    from = to;
  }
  const kept = options.kernel === 'knn-rbf' ? distances : new Float64Array(0);
  return { shard, offset, rows, k, distances: kept, reached, positions, blocks };
}

/** Stores what buildPartitionEdges found, so that every iteration reads it instead of sorting the lists again. */
export function writePartitionEdges(ctx: StageContext, runId: string, edges: PartitionEdges): Promise<void> {
  const { distances, reached, positions, blocks } = edges;
  const blockArrays = [
    Int32Array.from(blocks, (block) => block.shard),
    Int32Array.from(blocks, (block) => block.from),
    Int32Array.from(blocks, (block) => block.to),
  ];
  return ctx.store.put(
    keys.partitionEdges(runId, edges.shard),
    packArrays([positions, reached, ...blockArrays, distances]),
  );
}

export async function readPartitionEdges(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  options: RunOptions,
  shard: number,
): Promise<PartitionEdges> {
  const [positions, reached, shards, froms, tos, distances] = unpackArrays(
    await ctx.store.get(keys.partitionEdges(runId, shard)),
  ) as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Float64Array];
  const blocks = Array.from(shards, (t, b) => ({ shard: t, from: froms[b], to: tos[b] }));
  const { offset, rows } = collected.shards[shard];
  return { shard, offset, rows, k: options.neighbors, distances, reached, positions, blocks };
}

/**
 * The affinity of an edge before normalisation, as the single-process graph weighs it: 1 (knn,
 * connectivityFromNeighbors) or exp(-gamma d^2) (knn-rbf, rbfWeightsFromNeighbors); `distance` is undefined
 * for knn.
 */
export function edgeWeight(gamma: number | undefined, distance: number | undefined): number {
  return gamma === undefined || distance === undefined ? 1 : Math.exp(-gamma * distance);
}

/** Every edge's affinity (edgeWeight), rows x k. */
export function edgeWeights(edges: PartitionEdges, gamma: number | undefined): Float64Array {
  const weights = new Float64Array(edges.positions.length);
  if (edges.distances.length === 0 || gamma === undefined) return weights.fill(1);
  for (let p = 0; p < weights.length; p++) weights[p] = Math.exp(-gamma * edges.distances[p]);
  return weights;
}

/** The squared distance to each row's k-th neighbour where positive and finite, ascending: --gamma auto's values. */
export function kthDistances(edges: PartitionEdges): Float64Array {
  const kth: number[] = [];
  for (let i = 0; i < edges.rows; i++) {
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

function lowerBound(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * What every iteration task of a partition needs of it besides its lists (written once, by its degrees task):
 * who reads its rows (the partitions whose edges reach them, ascending, and the local rows each reaches,
 * ascending), its rows' class indices, and the square roots of their in-degrees (label spreading; else empty).
 */
export interface PartitionState {
  readonly readers: Int32Array;
  /** Rows read by readers[e] are readRows[ends[e - 1] .. ends[e]). */
  readonly ends: Int32Array;
  readonly readRows: Int32Array;
  readonly y: Int32Array;
  readonly degrees: Float64Array;
}

export function writePartitionState(ctx: StageContext, runId: string, shard: number, state: PartitionState) {
  const { readers, ends, readRows, y, degrees } = state;
  return ctx.store.put(keys.partition(runId, shard), packArrays([readers, ends, readRows, y, degrees]));
}

export async function readPartitionState(ctx: StageContext, runId: string, shard: number): Promise<PartitionState> {
  const [readers, ends, readRows, y, degrees] = unpackArrays(await ctx.store.get(keys.partition(runId, shard)));
  return { readers, ends, readRows, y, degrees } as PartitionState;
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
 * The values (c per row) of every row a partition reaches, in the order of `reached`: each reached partition's
 * export for this one, read from `keyFor(owner)`.
 */
export async function readReached(
  ctx: StageContext,
  edges: PartitionEdges,
  c: number,
  keyFor: (owner: number) => string,
): Promise<Float64Array> {
  const out = new Float64Array(edges.reached.length * c);
  await forEachInFlight(edges.blocks, PARTITION_REQUESTS_IN_FLIGHT, async (block) => {
    const [values] = unpackArrays(await ctx.store.get(keyFor(block.shard))) as Float64Array[];
    if (values.length !== (block.to - block.from) * c) {
      throw new Error(`${keyFor(block.shard)} holds ${values.length} values, expected ${(block.to - block.from) * c}`);
    }
    out.set(values, block.from * c);
  });
  return out;
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
