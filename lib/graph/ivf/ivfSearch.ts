import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { CandidateTiles } from '../../linalg/candidateTiles.ts';
import { rowNormsOf } from '../../linalg/dotDistances.ts';
import { encodeRows, type Int16Codes, int16Codes, sameCodes } from '../../linalg/int16Codes.ts';
import { copySlots, emptyKnnResult, type KnnResult } from '../knnSearch.ts';
import type { IvfCells } from './ivfIndex.ts';

/**
 * Approximate k nearest neighbours by IVF: each query row is compared exactly with every member of the cells
 * it probes, and keeps the k first by (squared distance, global index), as knnSearch does. The work is
 * grouped by cell, as FAISS's batched IVF scan: a cell's members are packed once and compared with all the
 * queries that probe it in blocked tiles (CandidateTiles: a 16-bit filter, then the f32 distances of the
 * SIMD dot-product kernel 'wasm', bit-identical to 'dot', for the pairs that can enter a list).
 *
 * Deterministic and independent of batching: a query's list depends only on its own probe list, the
 * members of those cells and the per-pair distances, which no tiling changes; so searching the queries in
 * any groups, with the cells split in parts in any way, gives the same lists. Where a query is itself a
 * member, it finds itself at distance 0 (its own cell is its first probe). A list keeps empty slots
 * (-1, +Infinity) when its probed cells hold fewer than k members.
 */
export interface IvfSearchOptions {
  /** Query rows per tile. Default 64. */
  readonly queryBlock?: number;
  /** Cell members per tile. Default 1024. */
  readonly referenceBlock?: number;
  /**
   * Query rows searched together. Each chunk packs the members of every cell it probes again, so the default
   * is all of them: at 1M rows (in-process, mixture) chunks of 32,768 searched in 31.3 s against 24.7 s, and at
   * 100k the whole set was no slower (1.32 s against 1.36 s).
   */
  readonly queryChunk?: number;
  /** Lists to continue (n x k, not changed): the result holds their entries too, as mergeTopK would. */
  readonly continuing?: KnnResult;
  /**
   * 16-bit codes covering the queries and every member of the parts (a run's, made once from all its rows),
   * instead of codes made for this search; a part whose `coded` words use them is not coded again. The lists
   * do not depend on the codes: they only filter.
   */
  readonly codes?: Int16Codes;
}

interface SearchScratch {
  readonly tiles: CandidateTiles;
  readonly codes: Int16Codes | undefined;
  readonly memberRows: Float32Array;
  /** The members' code words (codes.pairs per row). */
  readonly memberWords: Int32Array;
  /** Per part, the code words of its vectors. */
  readonly partWords: readonly Int32Array[];
  readonly memberIndices: Int32Array;
  readonly memberNorms: Float64Array;
  /** Per cell, the start of its query rows in `probing` (nlist + 1). */
  readonly start: Int32Array;
  readonly probing: Int32Array;
  /** rowNormsOf(queries.data). */
  readonly norms: Float64Array;
  /** The queries' code words. */
  readonly queryWords: Int32Array | undefined;
}

/**
 * Lists of the query rows given their probe lists (queries.n x width cell numbers in any order, -1 = none;
 * `probeCells(model, queries).probes`), over the cells in `parts` (each part holds some rows'
 * lists; together they must hold every member of every probed cell).
 */
export function ivfSearch(
  queries: FeatureMatrix,
  probes: Int32Array,
  parts: readonly IvfCells[],
  k: number,
  options: IvfSearchOptions = {},
): KnnResult {
  const { queryBlock = 64, referenceBlock = 1024, queryChunk = Math.max(1, queries.n) } = options;
  const { n, d } = queries;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer >= 1, got ${k}`);
  if (parts.length === 0) throw new RangeError('ivfSearch needs the cells of at least one part');
  const { nlist } = parts[0];
  for (const part of parts) {
    if (part.d !== d || part.nlist !== nlist) {
      throw new RangeError(`cells of ${part.nlist}x${part.d} do not match ${nlist} cells of ${d} features`);
    }
  }
  if (!Number.isInteger(queryChunk) || queryChunk < 1) throw new RangeError(`queryChunk must be an integer >= 1`);
  if (n > 0 && probes.length % n !== 0) throw new RangeError(`${probes.length} probes for ${n} query rows`);
  if (!Number.isInteger(queryBlock) || queryBlock < 1 || !Number.isInteger(referenceBlock) || referenceBlock < 1) {
    throw new RangeError(`tile sizes must be integers >= 1, got ${queryBlock} x ${referenceBlock}`);
  }
  if (n === 0) return emptyKnnResult(n, k);
  const width = probes.length / n;
  // Queries searched in the order of their first probe (their own cell, as probeCells lists them): the queries
  // that probe a cell then sit in a few runs of memory, with their lists, instead of all over the shard.
  const order = orderByFirstProbe(probes, width, n, parts[0].nlist);
  const sorted = permuteRows(queries, order);
  const sortedProbes = new Int32Array(probes.length);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < width; j++) sortedProbes[r * width + j] = probes[order[r] * width + j];
  }
  const { continuing } = options;
  if (continuing !== undefined && (continuing.n !== n || continuing.k !== k)) {
    throw new RangeError(`continuing lists are ${continuing.n} x ${continuing.k}, expected ${n} x ${k}`);
  }
  const found = emptyKnnResult(n, k);
  if (continuing !== undefined) {
    for (let r = 0; r < n; r++) copySlots(continuing, order[r] * k, found, r * k, k);
  }
  searchInOrder(
    sorted,
    sortedProbes,
    width,
    parts,
    k,
    { queryBlock, referenceBlock, queryChunk },
    found,
    options.codes,
  );
  const result = emptyKnnResult(n, k);
  for (let r = 0; r < n; r++) {
    copySlots(found, r * k, result, order[r] * k, k);
  }
  return result;
}

/** Row numbers sorted by their first probe (-1 first), ties in row order (a counting sort). */
function orderByFirstProbe(probes: Int32Array, width: number, n: number, nlist: number): Int32Array {
  const start = new Int32Array(nlist + 2);
  for (let i = 0; i < n; i++) start[probes[i * width] + 2]++;
  for (let c = 0; c <= nlist; c++) start[c + 1] += start[c];
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[start[probes[i * width] + 1]++] = i;
  return order;
}

function permuteRows(X: FeatureMatrix, order: Int32Array): FeatureMatrix {
  const { d } = X;
  const data = new Float32Array(X.n * d);
  for (let r = 0; r < order.length; r++) data.set(X.data.subarray(order[r] * d, (order[r] + 1) * d), r * d);
  return { data, n: X.n, d };
}

function searchInOrder(
  queries: FeatureMatrix,
  probes: Int32Array,
  width: number,
  parts: readonly IvfCells[],
  k: number,
  {
    queryBlock,
    referenceBlock,
    queryChunk,
  }: Required<Pick<IvfSearchOptions, 'queryBlock' | 'referenceBlock' | 'queryChunk'>>,
  result: KnnResult,
  given: Int16Codes | undefined,
): void {
  const { n, d } = queries;
  const { nlist } = parts[0];
  let largest = 0;
  for (let c = 0; c < nlist; c++) {
    let size = 0;
    for (const part of parts) size += part.offsets[c + 1] - part.offsets[c];
    largest = Math.max(largest, size);
  }
  const qb = Math.min(queryBlock, n);
  const rb = Math.max(1, Math.min(referenceBlock, largest));
  // One coding for the queries and every member of the parts (a coded row must lie in the coded range).
  const codes = given ?? int16Codes(d, [queries.data, ...parts.map((part) => part.vectors)]);
  const wordsOf = (part: IvfCells, codes: Int16Codes) =>
    part.coded !== undefined && sameCodes(part.coded.codes, codes)
      ? part.coded.words
      : encodeRows(codes, part.vectors, part.members.length);
  const scratch: SearchScratch = {
    tiles: new CandidateTiles(d, qb, rb, codes),
    codes,
    memberRows: new Float32Array(rb * d),
    memberWords: new Int32Array(codes === undefined ? 0 : rb * codes.pairs),
    partWords: parts.map((part) => (codes === undefined ? new Int32Array(0) : wordsOf(part, codes))),
    memberIndices: new Int32Array(rb),
    memberNorms: new Float64Array(rb),
    start: new Int32Array(nlist + 1),
    probing: new Int32Array(Math.min(n, queryChunk) * width),
    norms: rowNormsOf(queries.data, n, d),
    queryWords: codes === undefined ? undefined : encodeRows(codes, queries.data, n),
  };
  for (let q0 = 0; q0 < n; q0 += queryChunk) {
    const q1 = Math.min(n, q0 + queryChunk);
    // Each query's first probe (its own cell) before the others: its list is then full with near rows, and
    // the candidate filter passes few of the other cells' members.
    searchChunk(queries, probes, width, [0, 1], q0, q1, parts, k, qb, rb, result, scratch);
    if (width > 1) searchChunk(queries, probes, width, [1, width], q0, q1, parts, k, qb, rb, result, scratch);
  }
}

/**
 * Searches query rows [q0, q1) in their probes [from, to) (of `width`): the rows probing each cell, then that
 * cell's members, tile by tile.
 */
function searchChunk(
  queries: FeatureMatrix,
  probes: Int32Array,
  width: number,
  [from, to]: readonly [number, number],
  q0: number,
  q1: number,
  parts: readonly IvfCells[],
  k: number,
  qb: number,
  rb: number,
  result: KnnResult,
  scratch: SearchScratch,
): void {
  const { tiles, codes, memberRows, memberWords, partWords, memberIndices, memberNorms } = scratch;
  const { start, probing, norms, queryWords } = scratch;
  const pairs = codes === undefined ? 0 : codes.pairs;
  const { d } = queries;
  const nlist = start.length - 1;
  const { distances, indices } = result;
  // Invert the probe lists: the query rows probing each cell, ascending (counting sort).
  start.fill(0);
  for (let i = q0; i < q1; i++) {
    for (let w = from; w < to; w++) {
      const c = probes[i * width + w];
      if (c < -1 || c >= nlist) throw new RangeError(`probe ${c} outside [0, ${nlist})`);
      if (c >= 0) start[c + 1]++;
    }
  }
  for (let c = 0; c < nlist; c++) start[c + 1] += start[c];
  const fill = start.slice(0, nlist);
  for (let i = q0; i < q1; i++) {
    for (let w = from; w < to; w++) {
      const c = probes[i * width + w];
      if (c >= 0) probing[fill[c]++] = i;
    }
  }
  for (let c = 0; c < nlist; c++) {
    const b0 = start[c];
    const b1 = start[c + 1];
    if (b0 === b1) continue;
    // Members of cell c from every part, in blocks of at most rb rows.
    let part = 0;
    let entry = parts[0].offsets[c];
    for (;;) {
      let count = 0;
      while (count < rb && part < parts.length) {
        const { offsets, members, vectors, norms: partNorms } = parts[part];
        if (entry >= offsets[c + 1]) {
          part++;
          if (part < parts.length) entry = parts[part].offsets[c];
          continue;
        }
        const take = Math.min(rb - count, offsets[c + 1] - entry);
        memberIndices.set(members.subarray(entry, entry + take), count);
        memberNorms.set(partNorms.subarray(entry, entry + take), count);
        memberRows.set(vectors.subarray(entry * d, (entry + take) * d), count * d);
        memberWords.set(partWords[part].subarray(entry * pairs, (entry + take) * pairs), count * pairs);
        count += take;
        entry += take;
      }
      if (count === 0) break;
      tiles.setReference(memberRows, codes === undefined ? undefined : memberWords, count, memberNorms);
      const references = memberIndices.subarray(0, count);
      for (let t0 = b0; t0 < b1; t0 += qb) {
        const t1 = Math.min(t0 + qb, b1);
        tiles.setQueryRows(queries.data, queryWords, probing, t0, t1, norms);
        tiles.computeAndOffer(probing.subarray(t0, t1), references, k, distances, indices);
      }
    }
  }
}
