import { rangeCells, rangesOfCells } from '../../graph/ivf/cellRanges.ts';
import { ivfSearch } from '../../graph/ivf/ivfSearch.ts';
import { mergeCalibrationLists } from '../../graph/ivf/nprobeCalibration.ts';
import { probeCells } from '../../graph/ivf/probeCells.ts';
import { copySlots, emptyKnnResult, type KnnResult } from '../../graph/knnSearch.ts';
import { offerTopK } from '../../linalg/topK.ts';
import { packArrays, packedDataStart, unpackArrays, unpackLeading } from '../binaryArrays.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { readJson, writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import {
  type IvfTrainingObject,
  type ProbedCellsPart,
  type RangeListsPart,
  readCalibrationObject,
  readIvfModel,
  readIvfTraining,
  readProbedCells,
  readRangeCells,
  readRuns,
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
 * - each range's neighbors task searches its new rows against all rows of their probed cells, keeping each new
 *   row's OFFER_WIDTH x k nearest, and offers the new row to the old rows among them whose base k-th neighbour
 *   is farther (offersToOldRows);
 * - gather merges the offers into the base's lists of each old shard (offeredRangeLists). The version keeps
 *   every range's lists for the next run.
 * An old row's list thus holds the k nearest among the old rows in the cells it probed before and the new rows
 * that probe its cell and hold it among their OFFER_WIDTH x k nearest (the same probes, from the new row's side).
 * Old rows are not probed or searched again, so the search costs about the new rows' share of a full one. When
 * calibration asks for more cells than the base
 * lists probed, every row is searched again (all cells objects are there). The base's 16-bit codes are dropped:
 * they were made for the old rows' range, which new rows may leave, so each search codes its own rows
 * (ivfSearch without codes: the same lists).
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

/**
 * The cells task of a new shard in a run that reuses the base's IVF index: each calibration query's k-th
 * distance among the base's rows (the base's calibration parts merged; +Infinity where a list is short), or
 * undefined when the run does not reuse the index. The new rows come after the old ones, so a new row no nearer
 * than that cannot enter the query's k nearest, and the shard's calibration part is searched below it only
 * (exactListsOverCells' limits): on isotropic data the cells' bound admits most of a shard's pairs otherwise.
 * Every later version adds rows only (or builds its index anew), so its k-th distances stay within these.
 */
export async function baseCalibrationLimits(
  ctx: StageContext,
  run: RunRecord,
  k: number,
): Promise<Float64Array | undefined> {
  if (!run.incremental?.ivf) return undefined;
  const index = await baseIndex(ctx, run);
  if (index === undefined) return undefined;
  const { baseVersion } = run.incremental;
  const parts = await mapConcurrently(index.shards, async (_, shard) => {
    const at = objectsAt(index, baseVersion, shard, 'cells');
    return (await readCalibrationObject(ctx.store, indexKeys.shardCalibration(run.dataset, at.version, at.shard)))
      .lists;
  });
  if (parts.length === 0 || parts[0].k !== k) return undefined;
  const merged = parts.reduce((lists, part) => mergeCalibrationLists(lists, part));
  return Float64Array.from({ length: merged.n }, (_, q) =>
    merged.indices[q * k + k - 1] >= 0 ? merged.distances[q * k + k - 1] : Number.POSITIVE_INFINITY,
  );
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
 * every row of the cells they probe (their lists, written per new shard as the usual task does), keeping each new
 * row's OFFER_WIDTH x k nearest, from which the new row is offered to the old rows whose base k-th neighbour it
 * beats (offersToOldRows; gather merges the offers). Old rows are neither probed nor searched again: the work is
 * the new rows' search. Undefined when the range is searched as usual.
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
  const oldShards = index.shards.length;
  const shards = collected.shards.flatMap((shard, s) => (shard.rows > 0 ? [s] : []));
  const fresh = shards.filter((s) => s >= oldShards);
  const own = await mapConcurrently(fresh, (s) => readRangeCells(ctx, runId, range, s));
  const queries = rangeQueries(own, model.d);
  const { probes } = probeCells(model, queries.X, { minMembers: k, cellSizes, nearest: queries.nearest });
  const probed = new Uint8Array(model.nlist);
  for (const c of probes) if (c >= 0) probed[c] = 1;
  // Of every range the new rows probe, the probed cells of every shard (the range's own new parts are held whole).
  const requests = [...rangesOfCells(probes, ranges)].flatMap((r) => {
    const wanted = Uint8Array.from(byRange.cells.subarray(byRange.starts[r], byRange.starts[r + 1]), (c) => probed[c]);
    return shards.filter((s) => r !== range || s < oldShards).map((s) => ({ range: r, shard: s, wanted }));
  });
  const read = await readProbedCells(ctx, runId, requests);
  const reference = [
    ...own.map((part) => partCells(model, byRange, range, part)),
    ...requests.map(({ range: r }, i) => partCells(model, byRange, r, read[i])),
  ];
  // Each new row's OFFER_WIDTH x k nearest: its list is their first k; the old rows among them are offered it.
  const wide = k * OFFER_WIDTH;
  const nearest = queries.X.n > 0 ? ivfSearch(queries.X, probes, reference, wide) : emptyKnnResult(0, wide);
  const newLists = emptyKnnResult(queries.X.n, k);
  for (let q = 0; q < queries.X.n; q++) {
    copySlots(nearest, q * wide, newLists, q * k, k);
  }
  const members = Int32Array.from(own.flatMap((part) => [...part.members]));
  const oldParts = requests.flatMap((request, i) => (request.shard < oldShards ? [{ ...request, part: read[i] }] : []));
  const offers = await offersToOldRows(ctx, run, k, oldParts, {
    members,
    nearest,
    firstNew: collected.shards[oldShards]?.offset ?? collected.n,
  });
  await mapConcurrently(collected.shards, async (_, s) => {
    if (s < oldShards) {
      const to = offers.get(s) ?? { rows: [], indices: [], distances: [] };
      await ctx.store.put(
        offersKey(runId, range, s),
        packArrays([Int32Array.from(to.rows), Int32Array.from(to.indices), Float64Array.from(to.distances)]),
      );
      return;
    }
    const i = fresh.indexOf(s);
    const rows = i < 0 ? new Int32Array(0) : own[i].members;
    const at = i < 0 ? 0 : queries.starts[i];
    const lists = {
      n: rows.length,
      k,
      indices: newLists.indices.subarray(at * k, (at + rows.length) * k),
      distances: newLists.distances.subarray(at * k, (at + rows.length) * k),
    };
    await writeRangeLists(ctx, runId, range, s, { members: rows, lists });
  });
  return { rows: queries.X.n, ranges: ranges.count };
}

/** A range task's offers of its new rows to the old rows of one old shard (rows, their offered rows, distances). */
const offersKey = (runId: string, range: number, shard: number) =>
  `runs/${runId}/incremental/offers/${String(range).padStart(5, '0')}/${String(shard).padStart(5, '0')}.bin`;

interface Offers {
  readonly rows: number[];
  readonly indices: number[];
  readonly distances: number[];
}

/**
 * How many times k nearest rows each new row's search keeps: its own list is the first k, and the old rows among
 * all of them are offered the new row (offersToOldRows).
 */
export const OFFER_WIDTH = 3;

/**
 * The new rows as candidates of the old rows' lists: new row x enters old row y's list iff it comes before y's
 * k-th neighbour. The new rows' search compares x with every row of the cells x probes and keeps its
 * OFFER_WIDTH x k nearest: each old row y among them whose base k-th distance (read from the base's lists of the
 * probed cells, ranged GETs) is farther than x is offered x. So the old rows are not searched again: the pairs
 * compared are the new rows' search's, once. An old row misses a new neighbour only when it is not among that
 * row's OFFER_WIDTH x k nearest (y in a much sparser part of the space than x). gather merges the offers into the
 * base's lists (offeredRangeLists). Returns the offers per old shard.
 */
async function offersToOldRows(
  ctx: StageContext,
  run: RunRecord,
  k: number,
  oldParts: readonly { range: number; shard: number; wanted: Uint8Array; part: ProbedCellsPart }[],
  fresh: { members: Int32Array; nearest: KnnResult; firstNew: number },
): Promise<Map<number, Offers>> {
  const offers = new Map<number, Offers>();
  if (fresh.members.length === 0) return offers;
  const bounds = await mapConcurrently(oldParts, ({ range, shard, wanted, part }) =>
    baseBounds(ctx, run, { range, shard, wanted, offsets: part.objectOffsets }, k),
  );
  // The base k-th distance and shard of every old row of a probed cell, by global row (open addressing).
  let rows = 0;
  oldParts.forEach(({ wanted, part }) => {
    for (let i = 0; i < wanted.length; i++) if (wanted[i] === 1) rows += part.offsets[i + 1] - part.offsets[i];
  });
  const bits = Math.max(4, Math.ceil(Math.log2(2 * rows + 1)));
  const slots = new Int32Array(2 ** bits).fill(-1);
  const boundOf = new Float64Array(slots.length);
  const shardOf = new Int32Array(slots.length);
  const slotOf = (row: number) => {
    let slot = Math.imul(row, 0x9e3779b1) >>> (32 - bits);
    while (slots[slot] !== -1 && slots[slot] !== row) slot = (slot + 1) & (slots.length - 1);
    return slot;
  };
  oldParts.forEach(({ shard, wanted, part }, p) => {
    for (let i = 0; i < wanted.length; i++) {
      if (wanted[i] !== 1) continue;
      for (let j = part.offsets[i]; j < part.offsets[i + 1]; j++) {
        const slot = slotOf(part.members[j]);
        slots[slot] = part.members[j];
        boundOf[slot] = bounds[p].get(j - part.offsets[i], i);
        shardOf[slot] = shard;
      }
    }
  });
  const { members, nearest, firstNew } = fresh;
  const wide = nearest.k;
  for (let q = 0; q < members.length; q++) {
    for (let j = q * wide; j < (q + 1) * wide; j++) {
      const row = nearest.indices[j];
      if (row < 0 || row >= firstNew) continue;
      const slot = slotOf(row);
      if (slots[slot] !== row) throw new Error(`row ${row} of a probed cell has no base bound`);
      if (!(nearest.distances[j] < boundOf[slot])) continue;
      const to = offers.get(shardOf[slot]) ?? { rows: [], indices: [], distances: [] };
      offers.set(shardOf[slot], to);
      to.rows.push(row);
      to.indices.push(members[q]);
      to.distances.push(nearest.distances[j]);
    }
  }
  return offers;
}

/**
 * The base's k-th distance of each old row of the wanted cells of one cells object (range, shard), from the
 * base's lists of that range and shard (in the cells object's order, placed by the object's cell offsets, which
 * readProbedCells read): the distances of each run of wanted cells, one ranged GET each. `get(j, i)`: row j of the
 * range's i-th cell.
 */
async function baseBounds(
  ctx: StageContext,
  run: RunRecord,
  { range, shard, wanted, offsets }: { range: number; shard: number; wanted: Uint8Array; offsets: Int32Array },
  k: number,
): Promise<{ get(row: number, cell: number): number }> {
  const key = indexKeys.rangeLists(run.dataset, run.incremental?.baseVersion ?? 0, range, shard);
  // Range lists are packed [k], members, indices, distances: the members' count places the distances.
  const { arrays, next } = unpackLeading(await ctx.store.getRange(key, 0, packedDataStart([4])), 1);
  const n = next.length;
  if (arrays[0][0] !== k || n !== offsets[wanted.length]) {
    throw new Error(
      `base lists of range ${range}, shard ${shard}: not the ${offsets[wanted.length]} rows of its cells`,
    );
  }
  const start = packedDataStart([4, 4 * n, 4 * n * k]);
  const kth: (Float64Array | undefined)[] = new Array(wanted.length);
  await mapConcurrently(readRuns(wanted, offsets, 8 * k), async ([from, to]) => {
    const bytes = (await ctx.store.getRange(key, start + 8 * k * offsets[from], start + 8 * k * offsets[to])).slice();
    const distances = new Float64Array(bytes.buffer, 0, (offsets[to] - offsets[from]) * k);
    for (let i = from; i < to; i++) {
      if (wanted[i] !== 1) continue;
      const cell = new Float64Array(offsets[i + 1] - offsets[i]);
      for (let j = 0; j < cell.length; j++) cell[j] = distances[(offsets[i] - offsets[from] + j) * k + k - 1];
      kth[i] = cell;
    }
  });
  return {
    get: (row, cell) => {
      const values = kth[cell];
      if (values === undefined || row >= values.length) throw new RangeError(`no base bound for cell ${cell}`);
      return values[row];
    },
  };
}

/**
 * gather, for an old shard of a run whose approximate lists build on the base's: the base's lists of the shard's
 * rows (per range, as the base kept them) with every range task's offers of new rows merged in (the k first of
 * the union by (distance, index)), written as this run's range lists (the next version keeps them). Undefined
 * when the shard's lists are gathered as usual (a new shard, or lists searched in full).
 */
export async function offeredRangeLists(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
  shard: number,
  ranges: number,
): Promise<RangeListsPart[] | undefined> {
  const index = await reusesLists(ctx, run, collected);
  if (index === undefined || run.incremental === undefined || shard >= index.shards.length) return undefined;
  const version = run.incremental.baseVersion;
  const all = Array.from({ length: ranges }, (_, r) => r);
  const parts = await mapConcurrently(all, async (r) => {
    const [header, members, indices, distances] = unpackArrays(
      await ctx.store.get(indexKeys.rangeLists(run.dataset, version, r, run.incremental?.reused[shard] ?? shard)),
    ) as [Int32Array, Int32Array, Int32Array, Float64Array];
    const k = header[0];
    const lists = { n: members.length, k, indices: indices.slice(), distances: distances.slice() };
    return { members: members.slice(), lists };
  });
  const { offset, rows } = collected.shards[shard];
  const partOf = new Int32Array(rows).fill(-1);
  const at = new Int32Array(rows);
  parts.forEach(({ members }, r) => {
    members.forEach((row, i) => {
      partOf[row - offset] = r;
      at[row - offset] = i;
    });
  });
  for (const r of all) {
    const [to, indices, distances] = unpackArrays(await ctx.store.get(offersKey(run.runId, r, shard))) as [
      Int32Array,
      Int32Array,
      Float64Array,
    ];
    for (let e = 0; e < to.length; e++) {
      const row = to[e] - offset;
      const part = row >= 0 && row < rows ? partOf[row] : -1;
      if (part < 0) throw new Error(`offers of range ${r} to shard ${shard}: row ${to[e]} is not the shard's`);
      const { lists } = parts[part];
      offerTopK(lists.distances, lists.indices, at[row] * lists.k, lists.k, distances[e], indices[e]);
    }
  }
  await mapConcurrently(all, (r) => writeRangeLists(ctx, run.runId, r, shard, parts[r]));
  return parts;
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
