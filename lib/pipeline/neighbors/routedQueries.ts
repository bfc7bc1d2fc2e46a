import type { KnnResult } from '../../graph/knnSearch.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';

/**
 * The objects of the reversed approximate search (stages/probes.ts, stages/neighbors.ts, stages/gather.ts), as a
 * sharded IVF index searches: a query goes to the ranges holding the cells it probes, not the cells to the query.
 * - routed queries (ranges/<t>/<s>/queries.bin): the rows of shard s, of other ranges than t, that probe a cell of
 *   range t: their global indices, their probed cells in t and their vectors (written by shard s's probes task);
 * - partial lists (ranges/<t>/<s>/partial.bin): range t's neighbors task's lists of shard s's rows that probe t,
 *   among t's members only (its own rows first, in their cells object's order, then the routed queries).
 */

/** Queries routed to one cell range from one shard. */
export interface RoutedQueries {
  readonly members: Int32Array;
  /** n x width cells of the range each query probes (its probe list's order), -1 after the last. */
  readonly width: number;
  readonly probes: Int32Array;
  /** n x d features. */
  readonly vectors: Float32Array;
}

const QUERIES_FORMAT = 1;

export async function writeRoutedQueries(
  ctx: StageContext,
  runId: string,
  range: number,
  shard: number,
  queries: RoutedQueries,
  d: number,
): Promise<void> {
  const { members, width, probes, vectors } = queries;
  await ctx.store.put(
    keys.routedQueries(runId, range, shard),
    packArrays([Int32Array.of(QUERIES_FORMAT, width, d), members, probes, vectors]),
  );
}

export async function readRoutedQueries(
  ctx: StageContext,
  runId: string,
  range: number,
  shard: number,
): Promise<RoutedQueries> {
  const key = keys.routedQueries(runId, range, shard);
  const [header, members, probes, vectors] = unpackArrays(await ctx.store.get(key));
  const [format, width, d] = header as Int32Array;
  if (
    header.length !== 3 ||
    format !== QUERIES_FORMAT ||
    probes.length !== members.length * width ||
    vectors.length !== members.length * d
  ) {
    throw new RangeError(`${ctx.store.describe(key)} is not a routed queries object of this version`);
  }
  return {
    members: members as Int32Array,
    width,
    probes: probes as Int32Array,
    vectors: vectors as Float32Array,
  };
}

/** A range's partial lists of one shard's rows: the first `own` members are the range's own rows. */
export interface PartialLists {
  readonly own: number;
  readonly members: Int32Array;
  readonly lists: KnnResult;
}

export async function writePartialLists(
  ctx: StageContext,
  runId: string,
  range: number,
  shard: number,
  part: PartialLists,
): Promise<void> {
  const { own, members, lists } = part;
  await ctx.store.put(
    keys.partialLists(runId, range, shard),
    packArrays([Int32Array.of(lists.k, own), members, lists.indices, lists.distances]),
  );
}

export async function readPartialLists(
  ctx: StageContext,
  runId: string,
  range: number,
  shard: number,
): Promise<PartialLists> {
  const key = keys.partialLists(runId, range, shard);
  const [header, members, indices, distances] = unpackArrays(await ctx.store.get(key));
  const [k, own] = header as Int32Array;
  if (header.length !== 2 || indices.length !== members.length * k || distances.length !== indices.length) {
    throw new RangeError(`${ctx.store.describe(key)} is not a partial lists object of this version`);
  }
  return {
    own,
    members: members as Int32Array,
    lists: { n: members.length, k, indices: indices as Int32Array, distances: distances as Float64Array },
  };
}
