import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { distanceTiles } from '../../linalg/distanceTiles.ts';
import { rowNormsOf } from '../../linalg/dotDistances.ts';
import { type KnnResult, knnSearch } from '../knnSearch.ts';
import type { IvfCells } from './ivfIndex.ts';
import { checkModel, type IvfModel } from './ivfModel.ts';
import { ivfSearch } from './ivfSearch.ts';

/**
 * EXACT k nearest neighbours of a few queries over IVF cells, skipping the cells that cannot hold one.
 * A member x of cell j is nearer to centroid c_j than to the query's nearest centroid c*, so it lies beyond
 * the bisecting hyperplane of c_j and c*, at a distance from q of at least
 *   h_j = (|q - c_j|^2 - |q - c*|^2) / (2 |c_j - c*|)
 * (the distance from q to that hyperplane; q is on c*'s side of it). Once every cell left has h_j^2 beyond
 * the k-th distance found, none can change the list. Two passes: the FIRST_PASS_CELLS cells of lowest bound
 * of each query, then every other cell its bound still admits after them.
 *
 * The lists are knnSearch's ('wasm' distances, ties to the lower index): ivfSearch compares each pair with
 * the same kernel, and a skipped cell holds no member within the k-th distance. The bound is loosened by
 * ROUNDING (relative to the largest squared norm), against the Float32 rounding of the distances that assigned
 * the members to cells and of the k-th distance.
 *
 * Where the bound prunes little (isotropic data: on 1M Gaussian blobs of 64 features it admitted 98% of the
 * pairs after the first pass), the second pass scans every row instead, when the rows are given in index order
 * (`rows`): knnSearch's scan packs each row once in full tiles, where the cells of a 125k-row shard hold about
 * 125 rows each (a calibration part there: 1.85 s cell by cell, 1.60 s with the scan; the same lists).
 */

/** Cells searched for every query before the bound is applied. */
const FIRST_PASS_CELLS = 16;
/** Rounding allowance, relative to the largest squared norm of a query, centroid or member. */
const ROUNDING = 1e-4;
/** The share of all pairs above which the second pass scans every row (when they are given). */
const SCAN_ABOVE_SHARE = 0.5;

/** The rows of the cells in index order: row i has global index firstIndex + i. */
export interface OrderedRows {
  readonly X: FeatureMatrix;
  readonly firstIndex: number;
}

export function exactListsOverCells(
  model: IvfModel,
  queries: FeatureMatrix,
  cells: IvfCells,
  k: number,
  rows?: OrderedRows,
): KnnResult {
  checkModel(model);
  const { nlist, d } = model;
  if (queries.d !== d || cells.d !== d || cells.nlist !== nlist) {
    throw new RangeError(`queries (${queries.d}) and cells (${cells.nlist}x${cells.d}) must match the model`);
  }
  const n = queries.n;
  let scale = 0;
  for (const norm of cells.norms) scale = Math.max(scale, norm);
  for (const norm of rowNormsOf(queries.data, n, d)) scale = Math.max(scale, norm);
  const tolerance = ROUNDING * scale;
  const bounds = hyperplaneBounds(model, queries, tolerance);
  const first = Math.min(nlist, FIRST_PASS_CELLS);
  const firstProbes = new Int32Array(n * first);
  for (let q = 0; q < n; q++) lowestBounds(bounds, q * nlist, nlist, firstProbes.subarray(q * first, (q + 1) * first));
  const codes = cells.coded?.codes;
  const lists = ivfSearch(queries, firstProbes, [cells], k, { codes });
  if (first === nlist) return lists;
  // Second pass: every other cell that each query's bound still admits after its first lists.
  const searched = new Uint8Array(nlist);
  const extra: number[][] = [];
  let width = 0;
  let pairs = 0;
  for (let q = 0; q < n; q++) {
    const limit = lists.distances[q * k + k - 1] + tolerance;
    for (let r = 0; r < first; r++) searched[firstProbes[q * first + r]] = 1;
    const more: number[] = [];
    for (let c = 0; c < nlist; c++) {
      if (searched[c] !== 0 || bounds[q * nlist + c] > limit) continue;
      more.push(c);
      pairs += cells.offsets[c + 1] - cells.offsets[c];
    }
    for (let r = 0; r < first; r++) searched[firstProbes[q * first + r]] = 0;
    extra.push(more);
    width = Math.max(width, more.length);
  }
  if (width === 0) return lists;
  if (rows !== undefined && pairs > SCAN_ABOVE_SHARE * n * rows.X.n) {
    return knnSearch(queries, rows.X, k, { kernel: 'wasm', referenceOffset: rows.firstIndex, into: lists });
  }
  const moreProbes = new Int32Array(n * width).fill(-1);
  for (let q = 0; q < n; q++) moreProbes.set(extra[q], q * width);
  return ivfSearch(queries, moreProbes, [cells], k, { continuing: lists, codes });
}

/** The cells of the `out.length` lowest bounds of row [start, start + nlist) (ties: lower cell), ascending. */
function lowestBounds(bounds: Float64Array, start: number, nlist: number, out: Int32Array): void {
  let filled = 0;
  for (let c = 0; c < nlist; c++) {
    const v = bounds[start + c];
    if (filled === out.length && !(v < bounds[start + out[filled - 1]])) continue;
    let p = filled < out.length ? filled++ : filled - 1;
    while (p > 0 && v < bounds[start + out[p - 1]]) {
      out[p] = out[p - 1];
      p--;
    }
    out[p] = c;
  }
}

/**
 * h_j^2 for every query and cell (queries.n x nlist; 0 for the query's nearest cell and for centroids that
 * coincide with it). `tolerance` is taken off |q - c_j|^2 - |q - c*|^2 first: the members were assigned by
 * Float32 distances, so one may sit that far on the wrong side of the exact hyperplane.
 */
function hyperplaneBounds(model: IvfModel, queries: FeatureMatrix, tolerance: number): Float64Array {
  const { nlist, d, centroids } = model;
  const n = queries.n;
  const out = new Float64Array(n * nlist);
  const block = 64;
  const tiles = distanceTiles('wasm', d, Math.max(1, Math.min(block, n)), nlist);
  tiles.setReference(centroids, 0, nlist);
  const between = new Map<number, Float64Array>(); // 1 / (2 |c_j - c*|), per nearest centroid c*
  for (let q0 = 0; q0 < n; q0 += block) {
    const q1 = Math.min(q0 + block, n);
    tiles.setQuery(queries.data, q0, q1);
    tiles.compute();
    const { tile, stride } = tiles;
    for (let q = q0; q < q1; q++) {
      const row = (q - q0) * stride;
      let nearest = 0;
      for (let c = 1; c < nlist; c++) if (tile[row + c] < tile[row + nearest]) nearest = c;
      let scale = between.get(nearest);
      if (!scale) {
        scale = halfInverseGaps(centroids, nearest, nlist, d);
        between.set(nearest, scale);
      }
      const floor = tile[row + nearest] + tolerance;
      const at = q * nlist;
      for (let c = 0; c < nlist; c++) {
        const excess = tile[row + c] - floor;
        const h = excess > 0 ? excess * scale[c] : 0;
        out[at + c] = h * h;
      }
    }
  }
  return out;
}

/** 1 / (2 |c_j - c_from|) for every centroid j, in double (0 where the centroids coincide: no bound). */
function halfInverseGaps(centroids: Float32Array, from: number, nlist: number, d: number): Float64Array {
  const scale = new Float64Array(nlist);
  for (let c = 0; c < nlist; c++) {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const diff = centroids[c * d + t] - centroids[from * d + t];
      s += diff * diff;
    }
    scale[c] = s > 0 ? 0.5 / Math.sqrt(s) : 0;
  }
  return scale;
}
