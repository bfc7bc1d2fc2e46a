import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { copySlots, emptyKnnResult, type KnnResult, knnSearch } from '../../graph/knnSearch.ts';
import type { DistanceKernel } from '../../linalg/distanceTiles.ts';
import { unpackArrays } from '../binaryArrays.ts';
import { readJson, writeJson } from '../jsonObjects.ts';
import type { RunRecord } from '../run/runRecord.ts';
import { type Collected, loadShardRows } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { indexKeys, type ListsKind, listsKindOf, type VersionIndex } from './versionIndex.ts';

/**
 * Incremental kNN lists (issue 19). A dataset run whose shards partly come from the latest version
 * (shardReuse.ts) reuses that version's lists of their rows instead of searching all rows again:
 * - a reused row's list is its previous list, its row indices mapped to this run's numbering, with the rows of
 *   the shards this run ingested offered as candidates (searched against an index of only those rows), merged
 *   into it. With ties broken by lower index, and old rows in the same relative order, the merge equals a
 *   search over all rows (the k nearest of a union are the k nearest of the two lists' union);
 * - a row of an ingested shard, or a reused row one of whose previous neighbours is gone (its file changed or
 *   was removed), is searched against all rows, as a from-scratch run does.
 * So in exact mode the lists, and with them the labels, are those of a from-scratch run over the same files in
 * the same order, bit for bit. Propagation then runs in full over the graph.
 */

/** Why a run's lists cannot be reused, or undefined when they can. */
export function listsReuseRefusal(run: RunRecord, collected: Collected, index: VersionIndex): string | undefined {
  return reuseRefusal(listsKindOf(run, collected), run, collected.shards, index);
}

/**
 * Why lists of `kind` cannot be made from the base version's, or undefined when they can: the same k, no
 * scaling, the same search (and exact kernel), the reused shards in their old order dropping the same duplicate
 * ids. Approximate lists also need every old shard reused in its place (the cells objects hold global row
 * indices) and at most the old nprobe (old rows keep lists searched with it).
 */
export function reuseRefusal(
  kind: ListsKind | undefined,
  run: RunRecord,
  shards: readonly Pick<Collected['shards'][number], 'dropped'>[],
  index: VersionIndex,
): string | undefined {
  if (kind === undefined) return 'the run searches no kNN graph';
  if (index.lists === undefined) return `version ${run.incremental?.baseVersion} keeps no kNN lists`;
  const before = index.lists;
  if (before.k !== kind.k) return `--neighbors changed from ${before.k} to ${kind.k}`;
  if (before.scale !== 'none' || kind.scale !== 'none') return 'scaled features: every distance changes with the rows';
  if (before.mode !== kind.mode) return `the search changed from ${before.mode} to ${kind.mode}`;
  if (kind.mode === 'exact' && before.kernel !== kind.kernel)
    return `the distance kernel changed from ${before.kernel} to ${kind.kernel}`;
  const reused = run.incremental?.reused ?? [];
  const order = reused.filter((base) => base >= 0);
  if (order.some((base, i) => i > 0 && base <= order[i - 1])) return 'the reused files are in another order';
  for (let s = 0; s < reused.length; s++) {
    const base = reused[s];
    if (base < 0) continue;
    const was = index.rows[base].dropped;
    const now = shards[s].dropped;
    if (was.length !== now.length || was.some((row, i) => row !== now[i]))
      return `shard ${s} drops other duplicate ids than before`;
  }
  if (kind.mode === 'approx') {
    if (index.shards.some((_, s) => reused[s] !== s)) return 'approximate lists are reused only when files are added';
    if (kind.nprobe !== undefined && kind.nprobe > (before.nprobe ?? 0))
      return `calibration now probes ${kind.nprobe} cells, the previous lists ${before.nprobe}`;
  }
  return undefined;
}

/** Where a shard's lists came from (runs/<runId>/incremental/lists/<s>.json), summed by the report. */
export interface ShardListsRecord {
  /** Rows whose previous list was kept and offered the new rows. */
  readonly updated: number;
  /** Rows searched against all rows: [first, end) ranges of global row indices. */
  readonly recomputed: [number, number][];
}

export const listsRecordKey = (runId: string, shard: number) =>
  `runs/${runId}/incremental/lists/${String(shard).padStart(5, '0')}.json`;

export function readListsRecord(ctx: StageContext, runId: string, shard: number): Promise<ShardListsRecord> {
  return readJson<ShardListsRecord>(ctx.store, listsRecordKey(runId, shard));
}

/** Maps a previous row index to this run's: its shard's offset moved, or -1 when its shard is not reused. */
function indexMapper(run: RunRecord, collected: Collected, index: VersionIndex): (old: number) => number {
  const reused = run.incremental?.reused ?? [];
  const now = new Int32Array(index.rows.length).fill(-1);
  reused.forEach((base, s) => {
    if (base >= 0) now[base] = s;
  });
  const starts = index.rows.map((rows) => rows.offset);
  return (old) => {
    if (old < 0) return old;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= old) lo = mid;
      else hi = mid - 1;
    }
    // empty shards share their offset with the next: the one holding the row has rows past `old`
    while (index.rows[lo].offset + index.rows[lo].rows <= old) lo++;
    const s = now[lo];
    return s < 0 ? -1 : old - starts[lo] + collected.shards[s].offset;
  };
}

/**
 * The lists of shard `shard`'s rows (`query`, as loadShardRows gives them) in an incremental exact run, or
 * undefined when the shard is searched as in any run (not reused, not an incremental run, or lists not
 * reusable). Writes the shard's ShardListsRecord in incremental runs.
 */
export async function incrementalExactLists(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
  shard: number,
  query: FeatureMatrix,
  k: number,
  kernel: DistanceKernel,
): Promise<KnnResult | undefined> {
  if (run.incremental === undefined) return undefined;
  const { baseVersion, reused } = run.incremental;
  const index = await readJson<VersionIndex>(ctx.store, indexKeys.index(run.dataset, baseVersion));
  const offset = collected.shards[shard].offset;
  const whole: [number, number][] = query.n > 0 ? [[offset, offset + query.n]] : [];
  if (run.neighbors?.mode !== 'exact' || listsReuseRefusal(run, collected, index) !== undefined || reused[shard] < 0) {
    await writeJson(ctx.store, listsRecordKey(run.runId, shard), { updated: 0, recomputed: whole });
    return undefined;
  }
  const [oldIndices, oldDistances] = unpackArrays(
    await ctx.store.get(indexKeys.shardNeighbors(run.dataset, baseVersion, reused[shard])),
  ) as [Int32Array, Float64Array];
  const lists: KnnResult = { n: query.n, k, indices: new Int32Array(query.n * k), distances: oldDistances };
  const mapIndex = indexMapper(run, collected, index);
  const lost: number[] = [];
  for (let q = 0; q < query.n; q++) {
    let gone = false;
    for (let j = q * k; j < (q + 1) * k; j++) {
      const now = mapIndex(oldIndices[j]);
      if (now < 0 && oldIndices[j] >= 0) gone = true;
      lists.indices[j] = now;
    }
    if (gone) lost.push(q);
  }
  // The new rows offered to every kept list (the lists of lost rows are replaced below).
  const fresh = collected.shards.flatMap((rows, t) => (reused[t] < 0 && rows.rows > 0 ? [t] : []));
  for (const t of fresh) {
    const reference = (await loadShardRows(ctx, run.runId, t, collected)).X;
    knnSearch(query, reference, k, { into: lists, referenceOffset: collected.shards[t].offset, kernel });
  }
  if (lost.length > 0) await searchLost(ctx, run, collected, shard, query, lost, lists, kernel);
  await writeJson(ctx.store, listsRecordKey(run.runId, shard), {
    updated: query.n - lost.length,
    recomputed: rangesOf(lost.map((q) => offset + q)),
  } satisfies ShardListsRecord);
  return lists;
}

/** Searches the rows `lost` of the query shard against every shard, as a from-scratch run does, into `lists`. */
async function searchLost(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
  shard: number,
  query: FeatureMatrix,
  lost: readonly number[],
  lists: KnnResult,
  kernel: DistanceKernel,
): Promise<void> {
  const { d } = query;
  const { k } = lists;
  const data = new Float32Array(lost.length * d);
  lost.forEach((q, i) => {
    data.set(query.data.subarray(q * d, (q + 1) * d), i * d);
  });
  const subset: FeatureMatrix = { data, n: lost.length, d };
  const found = emptyKnnResult(lost.length, k);
  for (let t = 0; t < collected.shards.length; t++) {
    if (collected.shards[t].rows === 0) continue;
    const reference = t === shard ? query : (await loadShardRows(ctx, run.runId, t, collected)).X;
    knnSearch(subset, reference, k, { into: found, referenceOffset: collected.shards[t].offset, kernel });
  }
  lost.forEach((q, i) => {
    copySlots(found, i * k, lists, q * k, k);
  });
}

/** Ascending indices as [first, end) ranges. */
function rangesOf(rows: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const row of rows) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === row) last[1] = row + 1;
    else ranges.push([row, row + 1]);
  }
  return ranges;
}
