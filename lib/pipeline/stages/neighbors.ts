import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { type CellRanges, localityOrder, type RangeCells, rangeCells } from '../../graph/ivf/cellRanges.ts';
import type { IvfCells } from '../../graph/ivf/ivfIndex.ts';
import { ivfSearch } from '../../graph/ivf/ivfSearch.ts';
import { probeCells } from '../../graph/ivf/probeCells.ts';
import { emptyKnnResult, type KnnResult, knnSearch } from '../../graph/knnSearch.ts';
import type { DistanceKernel } from '../../linalg/distanceTiles.ts';
import type { Int16Codes } from '../../linalg/int16Codes.ts';
import { packArrays } from '../binaryArrays.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { incrementalRangeLists } from '../incremental/incrementalIvf.ts';
import { incrementalExactLists } from '../incremental/incrementalLists.ts';
import { keys } from '../keys.ts';
import {
  ProbedRowsMemory,
  type RangeCellsPart,
  readIvfModel,
  readProbedCells,
  readRangeCells,
  writeRangeLists,
} from '../neighbors/ivfObjects.ts';
import { PROBED_MEMBERS_BYTES, planNeighbors } from '../neighbors/neighborsPlan.ts';
import { partCells, rangeQueries } from '../neighbors/rangeParts.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
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
 * Approx mode (IVF): one task per cell range (the message's `shard` is the range): its queries are the rows whose
 * cell is in the range, read from the range's cells objects of every shard; of the other ranges it reads only
 * the members of the cells its queries probe (ranged GETs by each object's cell index), and compares each query
 * with the members of its probed cells. It writes its lists per shard; once every range is done, the lists step
 * fans out one gather task per shard, which assembles them into neighbors.bin. Memory and input: the range's
 * rows and the members of the cells they probe (searched in blocks that hold a bounded number of them), never
 * the whole corpus.
 */
export async function neighborsStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const plan = run.neighbors ?? planNeighbors(run.options, collected.n);
  const k = run.options.neighbors;
  if (plan.mode === 'approx') {
    const { rows, ranges } =
      (await incrementalRangeLists(ctx, run, task, collected, k)) ?? (await rangeLists(ctx, task, collected, k));
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
 * IVF search (Jegou et al. 2011, without quantisation) of one cell range's rows: each query compared with the
 * members of its probed cells, exactly, so a row's list depends only on its own probes and not on the ranges.
 * The range's own cells objects are read whole (they hold the queries); of the other ranges, only the probed
 * cells' members are read (readProbedCells). The queries are searched in blocks of their own cells whose probed
 * cells in other ranges hold at most probedRowsBudget rows (one block for most ranges), so the members held at
 * once stay bounded however many ranges the probes reach; the lists do not depend on the blocks.
 */
async function rangeLists(
  ctx: StageContext,
  { runId, shard: range }: TaskMessage,
  collected: Collected,
  k: number,
): Promise<{ rows: number; ranges: number }> {
  const { model, cellSizes, codes, ranges } = await readIvfModel(ctx, runId);
  if (range >= ranges.count) throw new RangeError(`run ${runId} has ${ranges.count} cell ranges, not ${range + 1}`);
  const byRange = rangeCells(ranges);
  const shards = collected.shards.flatMap((shard, s) => (shard.rows > 0 ? [s] : []));
  const queries = rangeQueriesSharingParts(
    await mapConcurrently(shards, (s) => readRangeCells(ctx, runId, range, s, codes)),
    model.d,
  );
  const own = queries.parts;
  const { probes, width } = probeCells(model, queries.X, { minMembers: k, cellSizes, nearest: queries.nearest });
  queries.nearest = undefined;
  const lists = emptyKnnResult(queries.X.n, k);
  const budget = probedRowsBudget(model.d, codes?.pairs ?? 0);
  const order = localityOrder(model);
  // Every block's probed members decoded into the same memory (ProbedRowsMemory: not the last block's too).
  const memory = new ProbedRowsMemory();
  for (const block of queryBlocks(probes, width, range, ranges, order, cellSizes, budget)) {
    const wanted = wantedCells(probes, width, block, range, ranges, byRange);
    const requests = [...wanted].flatMap(([r, cells]) => shards.map((s) => ({ range: r, shard: s, wanted: cells })));
    const read = await readProbedCells(ctx, runId, requests, codes, memory);
    const parts = new Map<number, RangeCellsPart[]>([[range, own]]);
    [...wanted.keys()].forEach((r, i) => {
      parts.set(r, read.slice(i * shards.length, (i + 1) * shards.length));
    });
    read.length = 0;
    const reference =
      parts.size * shards.length * (model.nlist + 1) * 4 <= separatePartsBytes()
        ? [...parts].flatMap(([r, shardParts]) => shardParts.map((part) => partCells(model, byRange, r, part, codes)))
        : [joinedCells(model.nlist, model.d, byRange, parts, codes)];
    const blockQueries = selectRows(queries.X, block);
    const blockProbes = new Int32Array(block.length * width);
    block.forEach((q, i) => {
      blockProbes.set(probes.subarray(q * width, (q + 1) * width), i * width);
    });
    const found = ivfSearch(blockQueries, blockProbes, reference, k, { codes });
    block.forEach((q, i) => {
      lists.indices.set(found.indices.subarray(i * k, (i + 1) * k), q * k);
      lists.distances.set(found.distances.subarray(i * k, (i + 1) * k), q * k);
    });
  }
  const ownMembers = own.map((part) => part.members);
  // One part per shard (empty where the shard has no rows here), so each gather task reads every range's.
  await mapConcurrently(collected.shards, (_, s) => {
    const index = shards.indexOf(s);
    const members = index < 0 ? new Int32Array(0) : ownMembers[index];
    const from = index < 0 ? 0 : queries.starts[index];
    const to = from + members.length;
    const part = {
      n: members.length,
      k,
      indices: lists.indices.subarray(from * k, to * k),
      distances: lists.distances.subarray(from * k, to * k),
    };
    return writeRangeLists(ctx, runId, range, s, { members, lists: part });
  });
  return { rows: queries.X.n, ranges: ranges.count };
}

/** Tests only: rows that replace the budget of probed members (probedRowsBudget), in the task's process. */
export const PROBED_ROWS_ENV = 'PSEUDOLABEL_PROBED_ROWS';

function probedRowsBudget(d: number, pairs: number): number {
  const forced = process.env[PROBED_ROWS_ENV];
  if (forced !== undefined && forced !== '') return Number(forced);
  return Math.max(1, Math.floor(PROBED_MEMBERS_BYTES / (4 + 4 * d + 8 + 4 * pairs)));
}

/**
 * The range's queries (indices into its rows) in blocks: the rows of the range's cells taken cell by cell (by
 * first probe, their own cell) in the centroids' locality order (cellRanges.ts), so that a block's cells are
 * near each other and share most of their probed cells, a block closed before a cell whose queries would take
 * the rows of the other ranges' cells its queries probe (by cellSizes, over all shards) past `budget`. A block
 * holds at least one cell.
 */
function queryBlocks(
  probes: Int32Array,
  width: number,
  range: number,
  { rangeOf }: CellRanges,
  order: Int32Array,
  cellSizes: Int32Array,
  budget: number,
): Int32Array[] {
  const n = width > 0 ? probes.length / width : 0;
  const nlist = rangeOf.length;
  // The queries of each own cell (by first probe), in row order: a counting sort.
  const start = new Int32Array(nlist + 1);
  for (let q = 0; q < n; q++) start[probes[q * width] + 1]++;
  for (let c = 0; c < nlist; c++) start[c + 1] += start[c];
  const byCell = new Int32Array(n);
  const fill = start.slice(0, nlist);
  for (let q = 0; q < n; q++) byCell[fill[probes[q * width]]++] = q;
  const blocks: Int32Array[] = [];
  const inBlock = new Uint8Array(nlist);
  let marked: number[] = [];
  let current: number[] = [];
  let rows = 0;
  const close = () => {
    if (current.length > 0) blocks.push(Int32Array.from(current));
    for (const c of marked) inBlock[c] = 0;
    marked = [];
    current = [];
    rows = 0;
  };
  // The other ranges' cells the queries of cell `own` probe that the block does not hold yet.
  const newCells = (own: number): number[] => {
    const cells: number[] = [];
    for (let i = start[own]; i < start[own + 1]; i++) {
      for (let p = byCell[i] * width; p < (byCell[i] + 1) * width; p++) {
        const c = probes[p];
        if (c < 0 || rangeOf[c] === range || inBlock[c] !== 0) continue;
        inBlock[c] = 2;
        cells.push(c);
      }
    }
    for (const c of cells) inBlock[c] = 0;
    return cells;
  };
  const rowsOf = (cells: readonly number[]) => cells.reduce((total, c) => total + cellSizes[c], 0);
  for (const own of order) {
    if (start[own + 1] === start[own]) continue;
    let added = newCells(own);
    if (current.length > 0 && rows + rowsOf(added) > budget) {
      close();
      added = newCells(own);
    }
    for (const c of added) {
      inBlock[c] = 1;
      marked.push(c);
    }
    rows += rowsOf(added);
    for (let i = start[own]; i < start[own + 1]; i++) current.push(byCell[i]);
  }
  close();
  // One block: the rows in their order, searched without a copy.
  return blocks.length === 1 ? [Int32Array.from({ length: n }, (_, q) => q)] : blocks;
}

/**
 * The cells of other ranges the queries of a block probe: per range (ascending), flags over its cells
 * (ascending, as in its cells objects).
 */
function wantedCells(
  probes: Int32Array,
  width: number,
  block: Int32Array,
  range: number,
  ranges: CellRanges,
  byRange: RangeCells,
): Map<number, Uint8Array> {
  const probed = new Uint8Array(ranges.rangeOf.length);
  for (const q of block) {
    for (let p = q * width; p < (q + 1) * width; p++) if (probes[p] >= 0) probed[probes[p]] = 1;
  }
  const wanted = new Map<number, Uint8Array>();
  for (let r = 0; r < ranges.count; r++) {
    if (r === range) continue;
    const cells = byRange.cells.subarray(byRange.starts[r], byRange.starts[r + 1]);
    const flags = cells.map((c) => probed[c]);
    if (flags.includes(1)) wanted.set(r, Uint8Array.from(flags));
  }
  return wanted;
}

/** Rows of X in the given order (X itself when that is all of them in order). */
function selectRows(X: FeatureMatrix, rows: Int32Array): FeatureMatrix {
  const { d } = X;
  if (rows.length === X.n && rows.every((row, i) => row === i)) return X;
  const data = new Float32Array(rows.length * d);
  rows.forEach((row, i) => {
    data.set(X.data.subarray(row * d, (row + 1) * d), i * d);
  });
  return { data, n: rows.length, d };
}

/**
 * A range's rows from its parts (rangeParts.ts), and the parts again, their vectors now views of the rows' (held
 * once, not twice) and without nearest cells.
 */
function rangeQueriesSharingParts(parts: readonly RangeCellsPart[], d: number) {
  const queries = rangeQueries(parts, d);
  const shared = parts.map((part, i) => {
    const vectors = queries.X.data.subarray(queries.starts[i] * d, (queries.starts[i] + part.members.length) * d);
    return { ...part, vectors, nearest: new Int32Array(0) };
  });
  return { ...queries, parts: shared };
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
