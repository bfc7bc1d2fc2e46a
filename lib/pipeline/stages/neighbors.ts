import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { type RangeCells, rangeCells } from '../../graph/ivf/cellRanges.ts';
import type { IvfCells } from '../../graph/ivf/ivfIndex.ts';
import { ivfSearch } from '../../graph/ivf/ivfSearch.ts';
import { emptyKnnResult, type KnnResult, knnSearch } from '../../graph/knnSearch.ts';
import type { DistanceKernel } from '../../linalg/distanceTiles.ts';
import type { Int16Codes } from '../../linalg/int16Codes.ts';
import { packArrays } from '../binaryArrays.ts';
import { mapConcurrently, REQUESTS_AT_ONCE } from '../concurrentRequests.ts';
import { incrementalRangeLists } from '../incremental/incrementalIvf.ts';
import { incrementalExactLists } from '../incremental/incrementalLists.ts';
import { keys } from '../keys.ts';
import { type RangeCellsPart, readIvfModel, readRangeCells } from '../neighbors/ivfObjects.ts';
import { planNeighbors } from '../neighbors/neighborsPlan.ts';
import { partProbes, probesInRange } from '../neighbors/queryProbes.ts';
import { partCells } from '../neighbors/rangeParts.ts';
import { type RoutedQueries, readRoutedQueries, writePartialLists } from '../neighbors/routedQueries.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { type RunRecord, readRun } from '../run/runRecord.ts';
import { type Collected, loadShardRows, readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * neighbors (shard task): k nearest neighbours among all points, ties by lower global index, so the result is
 * the same for every shard count.
 *
 * Exact mode: one task per shard compares the shard's points with every shard, one reference shard at a time,
 * top-k lists merged; it writes the shard's neighbors.bin. Memory: this shard, one reference shard, the lists.
 *
 * Approx mode (IVF): one task per cell range (the message's `shard` is the range), after the probes tasks routed
 * every row as a query to the ranges it probes: the task reads the range's cells objects of every shard (its
 * members) and the queries routed to it, and compares each query with the members of its probed cells in this
 * range. It writes partial lists per shard; once every range is done, the lists step fans out one gather task per
 * shard, which merges each row's partial lists into its list. Memory and input: the range's members and one
 * shard's queries at a time, never the whole corpus, and the same per row whatever n.
 */
export async function neighborsStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const plan = run.neighbors ?? planNeighbors(run.options, collected.n);
  const k = run.options.neighbors;
  if (plan.mode === 'approx') {
    const { rows, ranges } = plan.queriesRouted
      ? await routedRangeLists(ctx, task, collected, k)
      : await incrementalOrFail(ctx, run, task, collected, k);
    await completeShardTask(ctx, task, ranges, 'lists', { ms: Math.round(performance.now() - started), rows });
    return;
  }
  const query = await loadShardRows(ctx, task.runId, task.shard, collected);
  const lists =
    (await incrementalExactLists(ctx, run, collected, task.shard, query.X, k, plan.kernel)) ??
    (await exactLists(ctx, task, collected, query.X, k, plan.kernel));
  await ctx.store.put(keys.shardNeighbors(task.runId, task.shard), packArrays([lists.indices, lists.distances]));
  await completeShardTask(ctx, task, collected.shards.length, 'propagate', {
    ms: Math.round(performance.now() - started),
    rows: query.X.n,
  });
}

/** The range task of an incremental run whose lists build on the base's (calibrate routed no queries). */
async function incrementalOrFail(
  ctx: StageContext,
  run: RunRecord,
  task: TaskMessage,
  collected: Collected,
  k: number,
): Promise<{ rows: number; ranges: number }> {
  const lists = await incrementalRangeLists(ctx, run, task, collected, k);
  if (lists === undefined)
    throw new RangeError(`run ${task.runId}: no queries were routed to cell range ${task.shard}`);
  return lists;
}

async function exactLists(
  ctx: StageContext,
  task: TaskMessage,
  collected: Collected,
  query: FeatureMatrix,
  k: number,
  kernel: DistanceKernel,
): Promise<KnnResult> {
  const lists = emptyKnnResult(query.n, k);
  for (let t = 0; t < collected.shards.length; t++) {
    const reference = t === task.shard ? query : (await loadShardRows(ctx, task.runId, t, collected)).X;
    if (reference.n === 0) continue;
    knnSearch(query, reference, k, { into: lists, referenceOffset: collected.shards[t].offset, kernel });
  }
  return lists;
}

/**
 * IVF search (Jegou et al. 2011, without quantisation) of one cell range, reversed as a sharded IVF index searches:
 * the task holds only the range's members (its cells objects, one per shard, read whole) and searches the queries
 * that probe its cells among them: its own rows, whose probe lists it finds as the probes tasks did (partProbes),
 * and the rows of other ranges that the probes tasks routed to it (ranges/<r>/<s>/queries.bin), each with the
 * probed cells of this range only. Source shard by source shard (its own rows and its routed queries, the next
 * shards' read meanwhile), searched in blocks of about QUERY_BLOCK_BYTES, so memory is the range's members plus one
 * block of queries (and at most one shard's more) with their lists, and the routed queries read ahead (a shard's
 * rows that probe this range, about 1 / S of the queries each), whatever n.
 * It writes each shard's partial lists (the k nearest among this range's members: exact, ties by lower global
 * index), which gather merges into the rows' final lists: the same lists, bit for bit, as one in-process search,
 * since a row's list depends only on its probes and the pairs' distances, which no split changes.
 */
async function routedRangeLists(
  ctx: StageContext,
  { runId, shard: range }: TaskMessage,
  collected: Collected,
  k: number,
): Promise<{ rows: number; ranges: number }> {
  const { model, cellSizes, codes, ranges } = await readIvfModel(ctx, runId);
  if (range >= ranges.count) throw new RangeError(`run ${runId} has ${ranges.count} cell ranges, not ${range + 1}`);
  const byRange = rangeCells(ranges);
  const shards = collected.shards.flatMap((shard, s) => (shard.rows > 0 ? [s] : []));
  const own = await mapConcurrently(shards, (s) => readRangeCells(ctx, runId, range, s, codes));
  const reference =
    shards.length * (model.nlist + 1) * 4 <= separatePartsBytes()
      ? own.map((part) => partCells(model, byRange, range, part, codes))
      : [joinedCells(model.nlist, model.d, byRange, new Map([[range, own]]), codes)];
  // The routed queries of the next REQUESTS_AT_ONCE source shards are read while a shard is taken in (a GET
  // each: one at a time, 160 shards would wait seconds on S3).
  const reads: (Promise<RoutedQueries> | undefined)[] = [];
  const readAhead = (upTo: number) => {
    while (reads.length < Math.min(shards.length, upTo)) {
      const reading = readRoutedQueries(ctx, runId, range, shards[reads.length]);
      reading.catch(() => {}); // awaited below; a failure meanwhile is not an unhandled rejection
      reads.push(reading);
    }
  };
  const budget = queryBlockRows(model.d, k);
  type Source = { vectors: Float32Array; width: number; probes: Int32Array };
  let block: { shard: number; own: Int32Array; routed: Int32Array; sources: Source[] }[] = [];
  let blockRows = 0;
  let searched = 0;
  // Searches the block's queries as one set (fuller tiles than one shard's few queries a cell) and writes each
  // source shard's partial lists.
  const flush = async () => {
    const queries = joinQueries(
      model.d,
      block.flatMap(({ sources }) => sources),
    );
    const lists =
      queries.X.n > 0 ? ivfSearch(queries.X, queries.probes, reference, k, { codes }) : emptyKnnResult(0, k);
    let at = 0;
    for (const source of block) {
      const n = source.own.length + source.routed.length;
      const members = new Int32Array(n);
      members.set(source.own);
      members.set(source.routed, source.own.length);
      const part = {
        n,
        k,
        indices: lists.indices.subarray(at * k, (at + n) * k),
        distances: lists.distances.subarray(at * k, (at + n) * k),
      };
      await writePartialLists(ctx, runId, range, source.shard, { own: source.own.length, members, lists: part });
      at += n;
    }
    searched += queries.X.n;
    block = [];
    blockRows = 0;
  };
  for (let i = 0; i < shards.length; i++) {
    readAhead(i + REQUESTS_AT_ONCE);
    const routed = await (reads[i] as Promise<RoutedQueries>);
    reads[i] = undefined;
    const part = own[i];
    const ownProbes = partProbes(model, cellSizes, k, part);
    const ownRows = Int32Array.from({ length: part.members.length }, (_, q) => q);
    const mine = probesInRange(ownProbes.probes, ownProbes.width, ownRows, range, ranges);
    block.push({
      shard: shards[i],
      own: part.members,
      routed: routed.members,
      sources: [{ vectors: part.vectors, width: mine.width, probes: mine.probes }, routed],
    });
    blockRows += part.members.length + routed.members.length;
    if (blockRows >= budget) await flush();
  }
  if (block.length > 0) await flush();
  return { rows: searched, ranges: ranges.count };
}

/**
 * Query rows a neighbors task searches at once, as bytes of what it holds per query (vector and its copy in the
 * search, probe list, id, two k-lists of index and distance): 32 MiB, about 40,000 rows of 64 features. Fuller
 * tiles than one source shard's queries (a range's members are packed into the tiles once per search, and a
 * shard's own rows in a cell are about 1 / S of the cell), a bounded share of a task's memory whatever n.
 */
export const QUERY_BLOCK_BYTES = 32 * 2 ** 20;

/** Tests only: rows that replace the query block (queryBlockRows), in the task's process. */
export const QUERY_BLOCK_ROWS_ENV = 'PSEUDOLABEL_QUERY_BLOCK_ROWS';

function queryBlockRows(d: number, k: number): number {
  const forced = process.env[QUERY_BLOCK_ROWS_ENV];
  if (forced !== undefined && forced !== '') return Number(forced);
  return Math.max(1, Math.floor(QUERY_BLOCK_BYTES / (8 * d + 4 * 16 + 4 + 24 * k)));
}

/** Query rows of several sources as one matrix, their probe lists padded to the widest with -1. */
function joinQueries(
  d: number,
  sources: readonly { vectors: Float32Array; width: number; probes: Int32Array }[],
): { X: FeatureMatrix; probes: Int32Array } {
  const rowsOf = (source: (typeof sources)[number]) => source.vectors.length / d;
  const n = sources.reduce((total, source) => total + rowsOf(source), 0);
  const width = Math.max(1, ...sources.map((source) => source.width));
  const data = new Float32Array(n * d);
  const probes = new Int32Array(n * width).fill(-1);
  let at = 0;
  for (const source of sources) {
    const rows = rowsOf(source);
    data.set(source.vectors, at * d);
    for (let q = 0; q < rows; q++) {
      for (let j = 0; j < source.width; j++) probes[(at + q) * width + j] = source.probes[q * source.width + j];
    }
    at += rows;
  }
  return { X: { data, n, d }, probes };
}

/**
 * The parts are searched as they were read (ivfSearch packs each cell's members from every part into its tiles),
 * each with offsets over all nlist cells, while those offsets take at most this many bytes; beyond (thousands
 * of parts of thousands of cells) they are copied into one set of lists. Searching the parts as read saves the
 * copy: at 100k x 64 (2 ranges) the process's peak RSS was 440 MB before cell ranges, 540 MB with the copy.
 */
const SEPARATE_PARTS_OFFSET_BYTES = 16 * 2 ** 20;

/** Tests only: bytes of offsets that replace SEPARATE_PARTS_OFFSET_BYTES (-1 always copies), in the task's process. */
export const SEPARATE_PARTS_BYTES_ENV = 'PSEUDOLABEL_SEPARATE_PARTS_BYTES';

function separatePartsBytes(): number {
  const forced = process.env[SEPARATE_PARTS_BYTES_ENV];
  return forced !== undefined && forced !== '' ? Number(forced) : SEPARATE_PARTS_OFFSET_BYTES;
}

/**
 * The probed ranges' parts as one set of inverted lists (every cell's members from all shards packed together,
 * so the SIMD tiles stay full): members ascending within a cell, as shards hold ascending global indices.
 * Empties `parts` as it copies them.
 */
function joinedCells(
  nlist: number,
  d: number,
  byRange: RangeCells,
  parts: Map<number, readonly RangeCellsPart[]>,
  codes: Int16Codes | undefined,
): IvfCells {
  const offsets = new Int32Array(nlist + 1);
  const cellsOf = (r: number) => byRange.cells.subarray(byRange.starts[r], byRange.starts[r + 1]);
  for (const [r, shardParts] of parts) {
    const cells = cellsOf(r);
    for (const part of shardParts) {
      for (let i = 0; i < cells.length; i++) offsets[cells[i] + 1] += part.offsets[i + 1] - part.offsets[i];
    }
  }
  for (let c = 0; c < nlist; c++) offsets[c + 1] += offsets[c];
  const total = offsets[nlist];
  const pairs = codes?.pairs ?? 0;
  const coded =
    codes !== undefined &&
    [...parts.values()].every((list) => list.every((p) => p.words.length > 0 || p.members.length === 0));
  const members = new Int32Array(total);
  const vectors = new Float32Array(total * d);
  const norms = new Float64Array(total);
  const words = new Int32Array(coded ? total * pairs : 0);
  for (const [r, shardParts] of parts) {
    const cells = cellsOf(r);
    for (let i = 0; i < cells.length; i++) {
      let at = offsets[cells[i]];
      for (const part of shardParts) {
        const from = part.offsets[i];
        const to = part.offsets[i + 1];
        members.set(part.members.subarray(from, to), at);
        vectors.set(part.vectors.subarray(from * d, to * d), at * d);
        norms.set(part.norms.subarray(from, to), at);
        if (coded) words.set(part.words.subarray(from * pairs, to * pairs), at * pairs);
        at += to - from;
      }
    }
    parts.delete(r); // copied: its memory can go while the next range is copied
  }
  const joined = { d, nlist, offsets, members, vectors, norms };
  return coded && codes !== undefined ? { ...joined, coded: { codes, words } } : joined;
}
