import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { rangeCells, rangesOfCells } from '../../graph/ivf/cellRanges.ts';
import type { IvfCells } from '../../graph/ivf/ivfIndex.ts';
import { ivfSearch } from '../../graph/ivf/ivfSearch.ts';
import { probeCells } from '../../graph/ivf/probeCells.ts';
import { emptyKnnResult, type KnnResult } from '../../graph/knnSearch.ts';
import { unpackArrays } from '../binaryArrays.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { readJson, writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import {
  type IvfTrainingObject,
  type RangeCellsPart,
  readIvfModel,
  readIvfTraining,
  readProbedCells,
  readRangeCells,
  writeRangeLists,
} from '../neighbors/ivfObjects.ts';
import { partCells, rangeQueries } from '../neighbors/rangeParts.ts';
import { type RunRecord, updateRun } from '../run/runRecord.ts';
import type { Collected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';
import { listsRecordKey, reuseRefusal, type ShardListsRecord } from './incrementalLists.ts';
import { indexKeys, listsKindOf, objectsAt, type VersionIndex } from './versionIndex.ts';

/**
 * Incremental approximate lists (issue 19): when files were only added since the base version, whose lists were
 * approximate with the same k and no scaling, the run keeps the base's IVF index instead of building one:
 * - collect takes the base's centroids, calibration queries and cell ranges (no k-means);
 * - the cells tasks of reused shards copy the base's cells objects and calibration parts; only new shards put
 *   their rows into cells. calibrate then calibrates nprobe over all rows as usual (the estimated recall in
 *   report.json is over old and new rows);
 * - each range's neighbors task searches its new rows against all rows of their probed cells, and its old rows
 *   against an index of only the new rows (their probed cells' new members),
 *   continuing from the base's lists of those rows (ivfSearch `continuing`: the k nearest of the union, ties by
 *   lower index; the old k-th distance bounds the search from the first pair). The version keeps every range's
 *   lists for the next run.
 * An old row's list thus holds the k nearest among the old rows in the cells it probed before and the new rows in
 * the cells it probes now. When calibration asks for more cells than the base lists probed, every row is
 * searched again (all cells objects are there). The base's 16-bit codes are dropped: they were made for the old
 * rows' range, which new rows may leave, so each search codes its own rows (ivfSearch without codes: the same lists).
 */

async function baseIndex(ctx: StageContext, run: RunRecord): Promise<VersionIndex | undefined> {
  if (run.incremental === undefined) return undefined;
  return readJson<VersionIndex>(ctx.store, indexKeys.index(run.dataset, run.incremental.baseVersion));
}

/**
 * collect: the base version's IVF training for this run (written under the run's key, without codes), or
 * undefined when the run trains its own. Records `incremental.ivf` in run.json when it reuses it.
 */
export async function reusedIvfTraining(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
): Promise<IvfTrainingObject | undefined> {
  const index = await baseIndex(ctx, run);
  if (index === undefined || run.incremental === undefined) return undefined;
  const kind = { k: run.options.neighbors, mode: 'approx' as const, kernel: 'wasm' as const };
  const scale = collected.scaling?.method ?? 'none';
  if (reuseRefusal({ ...kind, scale }, run, collected.shards, index) !== undefined) return undefined;
  await ctx.store.concatenate(keys.ivfTraining(run.runId), [
    indexKeys.ivfTraining(run.dataset, run.incremental.baseVersion),
  ]);
  const { codes: _dropped, ...training } = await readIvfTraining(ctx, run.runId);
  await updateRun(ctx.store, run.runId, (record) => {
    if (record.incremental) record.incremental = { ...record.incremental, ivf: true };
  });
  return training;
}

/**
 * The cells task of a reused shard in a run that reuses the base's IVF index: copies the shard's cells objects
 * (every range) and calibration part from the base version. Returns the shard's rows, or undefined when the
 * shard is put into cells as usual.
 */
export async function copyReusedCells(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
  shard: number,
  ranges: number,
): Promise<number | undefined> {
  const base = run.incremental?.reused[shard] ?? -1;
  if (!run.incremental?.ivf || base < 0) return undefined;
  const index = await baseIndex(ctx, run);
  if (index === undefined) return undefined;
  const at = objectsAt(index, run.incremental.baseVersion, base, 'cells');
  await ctx.store.concatenate(keys.shardCalibration(run.runId, shard), [
    indexKeys.shardCalibration(run.dataset, at.version, at.shard),
  ]);
  await mapConcurrently(
    Array.from({ length: ranges }, (_, r) => r),
    (r) =>
      ctx.store.concatenate(keys.rangeCells(run.runId, r, shard), [
        indexKeys.rangeCells(run.dataset, at.version, r, at.shard),
      ]),
  );
  return collected.shards[shard].rows;
}

/** Whether this run's approximate lists build on the base's (after calibration: its nprobe known). */
async function reusesLists(ctx: StageContext, run: RunRecord, collected: Collected): Promise<VersionIndex | undefined> {
  if (!run.incremental?.ivf || run.neighbors?.mode !== 'approx') return undefined;
  const index = await baseIndex(ctx, run);
  if (index === undefined) return undefined;
  return reuseRefusal(listsKindOf(run, collected), run, collected.shards, index) === undefined ? index : undefined;
}

/**
 * calibrate: whether this run's approximate lists build on the base version's (given the run with its calibrated
 * plan), so that its neighbors tasks search as incrementalRangeLists does instead of routing the queries.
 */
export async function buildsOnBaseLists(ctx: StageContext, run: RunRecord, collected: Collected): Promise<boolean> {
  return (await reusesLists(ctx, run, collected)) !== undefined;
}

/**
 * neighbors (one cell range) in a run whose lists build on the base's: the range's new rows searched against
 * all rows of their probed cells, its old rows against the new rows of theirs. Writes the range's lists per shard
 * as the usual task does. Undefined when the range is searched as usual.
 */
export async function incrementalRangeLists(
  ctx: StageContext,
  run: RunRecord,
  { runId, shard: range }: TaskMessage,
  collected: Collected,
  k: number,
): Promise<{ rows: number; ranges: number } | undefined> {
  const index = await reusesLists(ctx, run, collected);
  if (index === undefined) return undefined;
  const { model, cellSizes, ranges } = await readIvfModel(ctx, runId);
  const byRange = rangeCells(ranges);
  const shards = collected.shards.flatMap((shard, s) => (shard.rows > 0 ? [s] : []));
  const oldShards = index.shards.length;
  const own = await mapConcurrently(shards, (s) => readRangeCells(ctx, runId, range, s));
  const queries = rangeQueries(own, model.d);
  const { probes } = probeCells(model, queries.X, { minMembers: k, cellSizes, nearest: queries.nearest });
  const firstNew = shards.findIndex((s) => s >= oldShards);
  const split = firstNew < 0 ? queries.X.n : queries.starts[firstNew];
  const width = queries.X.n > 0 ? probes.length / queries.X.n : 0;
  const oldProbes = probes.subarray(0, split * width);
  const newProbes = probes.subarray(split * width);
  // New shards' parts of every range any query probes, whole (new rows only); of the old shards' parts of other
  // ranges, only the cells new rows probe (ranged reads, readProbedCells).
  const parts = new Map<string, RangeCellsPart>();
  shards.forEach((s, i) => {
    parts.set(`${range}/${s}`, own[i]);
  });
  const fresh = shards.filter((s) => s >= oldShards);
  const old = shards.filter((s) => s < oldShards);
  const byOld = [...rangesOfCells(oldProbes, ranges)];
  const byNew = [...rangesOfCells(newProbes, ranges)];
  const whole = [...new Set([...byOld, ...byNew])].flatMap((r) =>
    fresh.filter((s) => !parts.has(`${r}/${s}`)).map((s) => [r, s] as const),
  );
  const read = await mapConcurrently(whole, ([r, s]) => readRangeCells(ctx, runId, r, s));
  whole.forEach(([r, s], i) => {
    parts.set(`${r}/${s}`, read[i]);
  });
  const probedByNew = new Uint8Array(model.nlist);
  for (const c of newProbes) if (c >= 0) probedByNew[c] = 1;
  const requests = byNew
    .filter((r) => r !== range)
    .flatMap((r) => {
      const wanted = byRange.cells.subarray(byRange.starts[r], byRange.starts[r + 1]).map((c) => probedByNew[c]);
      return old.map((shard) => ({ range: r, shard, wanted: Uint8Array.from(wanted) }));
    });
  const probed = await readProbedCells(ctx, runId, requests);
  requests.forEach(({ range: r, shard }, i) => {
    parts.set(`${r}/${shard}`, probed[i]);
  });
  const cellsOf = (rs: readonly number[], of: readonly number[]) =>
    rs.flatMap((r) => of.map((s) => partCells(model, byRange, r, parts.get(`${r}/${s}`)!)));
  const search = (from: number, to: number, reference: IvfCells[], probed: Int32Array, continuing?: KnnResult) => {
    const X: FeatureMatrix = { data: queries.X.data.subarray(from * model.d, to * model.d), n: to - from, d: model.d };
    if (X.n === 0 || reference.length === 0) return continuing ?? emptyKnnResult(X.n, k);
    return ivfSearch(X, probed, reference, k, continuing ? { continuing } : {});
  };
  // The old rows' lists continue from the base's (their k-th distance bounds the search from the start).
  const base = await baseRangeLists(ctx, run, range, shards.slice(0, firstNew < 0 ? shards.length : firstNew), own, k);
  const oldLists = search(0, split, cellsOf(byOld, fresh), oldProbes, base);
  const newLists = search(split, queries.X.n, cellsOf(byNew, shards), newProbes);
  await mapConcurrently(collected.shards, (_, s) => {
    const i = shards.indexOf(s);
    const members = i < 0 ? new Int32Array(0) : own[i].members;
    const from = i < 0 ? 0 : queries.starts[i];
    const [lists, at] = from < split ? [oldLists, from] : [newLists, from - split];
    const part = {
      n: members.length,
      k,
      indices: lists.indices.subarray(at * k, (at + members.length) * k),
      distances: lists.distances.subarray(at * k, (at + members.length) * k),
    };
    return writeRangeLists(ctx, runId, range, s, { members, lists: part });
  });
  return { rows: queries.X.n, ranges: ranges.count };
}

/**
 * The base version's lists of a range's old rows (the reused shards' parts of the range, in shard order), as one
 * KnnResult in the order of the range's queries. The rows are those of the base's parts (the same cells objects).
 */
async function baseRangeLists(
  ctx: StageContext,
  run: RunRecord,
  range: number,
  oldShards: readonly number[],
  own: readonly RangeCellsPart[],
  k: number,
): Promise<KnnResult> {
  const version = run.incremental?.baseVersion ?? 0;
  const parts = await mapConcurrently(oldShards, async (s) => {
    const [, members, indices, distances] = unpackArrays(
      await ctx.store.get(indexKeys.rangeLists(run.dataset, version, range, run.incremental?.reused[s] ?? s)),
    ) as [Int32Array, Int32Array, Int32Array, Float64Array];
    return { members, indices, distances };
  });
  const n = parts.reduce((total, part) => total + part.members.length, 0);
  const lists = emptyKnnResult(n, k);
  let at = 0;
  parts.forEach((part, i) => {
    const rows = own[i].members;
    if (part.members.length !== rows.length || part.members.some((row, j) => row !== rows[j]))
      throw new Error(`base lists of range ${range}, shard ${oldShards[i]}: other rows than its cells`);
    lists.indices.set(part.indices, at * k);
    lists.distances.set(part.distances, at * k);
    at += rows.length;
  });
  return lists;
}

/**
 * gather, in an incremental run: records where the shard's lists came from (its ShardListsRecord): kept and
 * offered the new rows (a reused shard whose lists build on the base's), or searched in full.
 */
export async function recordShardLists(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
  shard: number,
): Promise<void> {
  if (run.incremental === undefined) return;
  const { offset, rows } = collected.shards[shard];
  const kept = run.incremental.reused[shard] >= 0 && (await reusesLists(ctx, run, collected)) !== undefined;
  const whole: [number, number][] = rows > 0 ? [[offset, offset + rows]] : [];
  const record: ShardListsRecord = kept ? { updated: rows, recomputed: [] } : { updated: 0, recomputed: whole };
  await writeJson(ctx.store, listsRecordKey(run.runId, shard), record);
}
