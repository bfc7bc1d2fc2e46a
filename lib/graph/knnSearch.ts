import type { FeatureMatrix } from '../data/featureMatrix.ts';
import { CandidateTiles } from '../linalg/candidateTiles.ts';
import { type DistanceKernel, distanceTiles } from '../linalg/distanceTiles.ts';
import { rowNormsOf } from '../linalg/dotDistances.ts';
import { encodeRows, type Int16Codes, int16Codes } from '../linalg/int16Codes.ts';
import { clearTopK, mergeTopKLists, offerTopK } from '../linalg/topK.ts';

/**
 * Exact k nearest neighbours by squared euclidean distance, tile by tile.
 *
 * Row q's neighbours are indices[q*k .. q*k+k) with their SQUARED distances alongside, ascending by
 * (distance, index): ties go to the lower index. A query row that is also a reference row finds itself
 * at distance 0, as scikit-learn's `NearestNeighbors.fit(X).kneighbors(X)` does (the self-loop of its
 * knn graph). Empty slots (fewer than k reference rows seen so far) hold index -1 and distance +Infinity.
 *
 * Reference rows can be searched in blocks: pass the block's global row offset as `referenceOffset` and the
 * previous result as `into`, or search blocks separately and combine them with `mergeTopK`; both give
 * exactly the lists of one search over all rows, because distances do not depend on the blocking and
 * the order is total.
 *
 * `kernel` picks how distances are computed (see DistanceKernel): `direct` (default, double precision sums of
 * squared differences) or the about 10 times faster `wasm` (Float32 dot-product expansion, SIMD; `dot` is its
 * bit-identical plain JS twin). Lists are exact for the chosen kernel's distances; kernels differ in the low
 * bits, so compare or merge only lists computed with the same kernel.
 */
export interface KnnResult {
  readonly n: number;
  readonly k: number;
  readonly indices: Int32Array;
  readonly distances: Float64Array;
}

/**
 * Copies `count` list slots (indices and distances) from slot `fromAt` of `from` to slot `toAt` of `to`, one by
 * one: for a row of k = 10, two subarray views (TypedArray.set of a subarray) cost about ten times the copy.
 */
export function copySlots(
  from: Pick<KnnResult, 'indices' | 'distances'>,
  fromAt: number,
  to: Pick<KnnResult, 'indices' | 'distances'>,
  toAt: number,
  count: number,
): void {
  for (let j = 0; j < count; j++) {
    to.indices[toAt + j] = from.indices[fromAt + j];
    to.distances[toAt + j] = from.distances[fromAt + j];
  }
}

export interface KnnSearchOptions {
  /** Global index of reference row 0 (when `reference` is one block of a larger set). Default 0. */
  readonly referenceOffset?: number;
  /** Existing lists to continue (updated in place and returned); its n and k must match. */
  readonly into?: KnnResult;
  /** Accept k > reference rows, leaving empty slots (block-wise search). Default false unless `into` is given. */
  readonly allowPartial?: boolean;
  /** Query rows per tile. Default 256 (64 for the 'wasm' kernel, whose tiles stay in cache). */
  readonly queryBlock?: number;
  /** Reference rows per tile. Default 1024. */
  readonly referenceBlock?: number;
  /** Distance kernel. Default 'direct'. */
  readonly kernel?: DistanceKernel;
  /**
   * 'wasm': 16-bit codes that cover every query and reference row (a run's codes, made from its rows' range), used
   * instead of making codes from these rows' range. Where they do not cover a row, encoding it throws.
   */
  readonly codes?: Int16Codes;
}

/** An empty result: every slot (+Infinity, -1). */
export function emptyKnnResult(n: number, k: number): KnnResult {
  const indices = new Int32Array(n * k);
  const distances = new Float64Array(n * k);
  clearTopK(distances, indices);
  return { n, k, indices, distances };
}

/** The k nearest reference rows of every query row (see KnnResult for order, ties and self matches). */
export function knnSearch(
  query: FeatureMatrix,
  reference: FeatureMatrix,
  k: number,
  options: KnnSearchOptions = {},
): KnnResult {
  const { referenceOffset = 0, into, referenceBlock = 1024, kernel = 'direct' } = options;
  const queryBlock = options.queryBlock ?? (kernel === 'wasm' ? 64 : 256);
  const allowPartial = options.allowPartial ?? into !== undefined;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer >= 1, got ${k}`);
  if (query.d !== reference.d) {
    throw new RangeError(`query rows have ${query.d} features but reference rows have ${reference.d}`);
  }
  if (!allowPartial && k > reference.n) {
    throw new RangeError(`cannot find k=${k} neighbours among ${reference.n} reference rows`);
  }
  if (!Number.isInteger(referenceOffset) || referenceOffset < 0) {
    throw new RangeError(`referenceOffset must be an integer >= 0, got ${referenceOffset}`);
  }
  if (referenceOffset + reference.n > 2 ** 31 - 1) throw new RangeError('reference indices exceed the Int32 range');
  if (!Number.isInteger(queryBlock) || queryBlock < 1 || !Number.isInteger(referenceBlock) || referenceBlock < 1) {
    throw new RangeError(`tile sizes must be integers >= 1, got ${queryBlock} x ${referenceBlock}`);
  }
  const result = into ?? emptyKnnResult(query.n, k);
  if (result.n !== query.n || result.k !== k) {
    throw new RangeError(`'into' holds ${result.n} lists of ${result.k}, expected ${query.n} lists of ${k}`);
  }
  const { d } = query;
  const { distances, indices } = result;
  const qb = Math.min(queryBlock, Math.max(1, query.n));
  const rb = Math.min(referenceBlock, Math.max(1, reference.n));
  const lists = new Int32Array(query.n);
  for (let i = 0; i < query.n; i++) lists[i] = i;
  // The 'wasm' lists through the 16-bit filter (candidateTiles.ts) where lists can be full before a block:
  // the same lists, fewer Float32 distances.
  if (options.codes !== undefined && options.codes.d !== d) {
    throw new RangeError(`codes of ${options.codes.d} features for rows of ${d}`);
  }
  const codes =
    kernel === 'wasm' && (into !== undefined || reference.n > rb)
      ? (options.codes ?? int16Codes(d, [query.data, reference.data]))
      : undefined;
  if (codes !== undefined) {
    searchFiltered(query, reference, k, codes, qb, rb, lists, referenceOffset, result);
    return result;
  }
  const tiles = distanceTiles(kernel, d, qb, rb);
  const references = new Int32Array(rb);
  for (let r0 = 0; r0 < reference.n; r0 += rb) {
    const r1 = Math.min(r0 + rb, reference.n);
    tiles.setReference(reference.data, r0, r1);
    for (let j = 0; j < r1 - r0; j++) references[j] = referenceOffset + r0 + j;
    for (let q0 = 0; q0 < query.n; q0 += qb) {
      const q1 = Math.min(q0 + qb, query.n);
      tiles.setQuery(query.data, q0, q1);
      tiles.computeAndOffer(lists.subarray(q0, q1), references, k, distances, indices);
    }
  }
  return result;
}

/** knnSearch's tile loop with CandidateTiles: the reference rows' codes once, each query block's per block. */
function searchFiltered(
  query: FeatureMatrix,
  reference: FeatureMatrix,
  k: number,
  codes: Int16Codes,
  qb: number,
  rb: number,
  lists: Int32Array,
  referenceOffset: number,
  result: KnnResult,
): void {
  const { d } = query;
  const { pairs } = codes;
  const tiles = new CandidateTiles(d, qb, rb, codes);
  const queryWords = encodeRows(codes, query.data, query.n);
  const referenceWords = encodeRows(codes, reference.data, reference.n);
  const queryNorms = rowNormsOf(query.data, query.n, d);
  const referenceNorms = rowNormsOf(reference.data, reference.n, d);
  const references = new Int32Array(rb);
  for (let r0 = 0; r0 < reference.n; r0 += rb) {
    const r1 = Math.min(r0 + rb, reference.n);
    tiles.setReference(
      reference.data.subarray(r0 * d, r1 * d),
      referenceWords.subarray(r0 * pairs, r1 * pairs),
      r1 - r0,
      referenceNorms.subarray(r0, r1),
    );
    for (let j = 0; j < r1 - r0; j++) references[j] = referenceOffset + r0 + j;
    for (let q0 = 0; q0 < query.n; q0 += qb) {
      const q1 = Math.min(q0 + qb, query.n);
      tiles.setQueryRows(query.data, queryWords, lists, q0, q1, queryNorms);
      tiles.computeAndOffer(lists.subarray(q0, q1), references, k, result.distances, result.indices);
    }
  }
}

export interface KnnSelfSearchOptions {
  /** Rows per (square) tile. Default 512. */
  readonly block?: number;
  /** Distance kernel (see knnSearch). Default 'direct'. */
  readonly kernel?: DistanceKernel;
}

/**
 * `knnSearch(X, X, k)` computing each distance once: tiles on and above the block diagonal are scanned by
 * rows (neighbours of the tile's query rows) and, off the diagonal, also by columns (neighbours of its
 * reference rows), which halves the work. Identical lists to `knnSearch(X, X, k)` with the same kernel, since
 * every kernel is symmetric bit for bit ((a - b)^2 = (b - a)^2, x.y = y.x in the same order) and the
 * (distance, index) order is total.
 */
export function knnSelfSearch(X: FeatureMatrix, k: number, options: KnnSelfSearchOptions = {}): KnnResult {
  const { block = 512, kernel = 'direct' } = options;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer >= 1, got ${k}`);
  if (k > X.n) throw new RangeError(`cannot find k=${k} neighbours among ${X.n} rows`);
  if (!Number.isInteger(block) || block < 1) throw new RangeError(`block must be an integer >= 1, got ${block}`);
  const { n, d } = X;
  const result = emptyKnnResult(n, k);
  const { distances, indices } = result;
  const b = Math.min(block, n);
  const tiles = distanceTiles(kernel, d, b, b);
  const colBound = new Float64Array(b);
  const colBoundIndex = new Int32Array(b);

  for (let q0 = 0; q0 < n; q0 += b) {
    const q1 = Math.min(q0 + b, n);
    const nq = q1 - q0;
    tiles.setQuery(X.data, q0, q1);
    for (let r0 = q0; r0 < n; r0 += b) {
      const r1 = Math.min(r0 + b, n);
      const nr = r1 - r0;
      const mirrored = r0 !== q0;
      tiles.setReference(X.data, r0, r1);
      tiles.compute();
      const { tile, stride } = tiles;
      if (mirrored) {
        for (let j = 0; j < nr; j++) {
          const last = (r0 + j) * k + k - 1;
          colBound[j] = distances[last];
          colBoundIndex[j] = indices[last];
        }
      }
      for (let i = 0; i < nq; i++) {
        const qi = q0 + i;
        const base = qi * k;
        const last = base + k - 1;
        let bound = distances[last];
        let boundIndex = indices[last];
        const row = i * stride;
        for (let j = 0; j < nr; j++) {
          const v = tile[row + j];
          // entersList, written out: here every entry is tested, and the call measured 6% slower (20k blobs).
          if (v < bound || (v === bound && (boundIndex < 0 || r0 + j < boundIndex))) {
            bound = offerTopK(distances, indices, base, k, v, r0 + j);
            boundIndex = indices[last];
          }
          if (mirrored) {
            const cb = colBound[j];
            if (v < cb || (v === cb && (colBoundIndex[j] < 0 || qi < colBoundIndex[j]))) {
              const colBase = (r0 + j) * k;
              colBound[j] = offerTopK(distances, indices, colBase, k, v, qi);
              colBoundIndex[j] = indices[colBase + k - 1];
            }
          }
        }
      }
    }
  }
  return result;
}

/**
 * Merges top-k lists of the same query rows computed against different reference blocks (with global
 * indices). Order of arguments does not matter; merging a block twice does not duplicate neighbours.
 */
export function mergeTopK(a: KnnResult, b: KnnResult): KnnResult {
  if (a.n !== b.n || a.k !== b.k) {
    throw new RangeError(`cannot merge ${a.n} lists of ${a.k} with ${b.n} lists of ${b.k}`);
  }
  const out = emptyKnnResult(a.n, a.k);
  mergeTopKLists(a.distances, a.indices, b.distances, b.indices, a.n, a.k, out.distances, out.indices);
  return out;
}
