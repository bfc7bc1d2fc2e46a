import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { type DistanceTiles, distanceTiles } from '../../linalg/distanceTiles.ts';
import { rowNormsOf } from '../../linalg/dotDistances.ts';
import { copySlots, emptyKnnResult, type KnnResult, knnSearch } from '../knnSearch.ts';
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
 * of each query, then every other cell its bound still admits after them. The queries go in blocks of
 * QUERY_BLOCK (grouped by nearest centroid), so the bounds held are a block's, whatever nlist and the queries.
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
/** The share of a block's pairs above which its second pass scans every row (when they are given). */
const SCAN_ABOVE_SHARE = 0.5;
/**
 * Queries searched together: their bounds (QUERY_BLOCK x nlist doubles) are held at once, not all queries'
 * (issue 16: a cells task's memory must not grow with the corpus, and nlist grows with it).
 */
const QUERY_BLOCK = 64;

/**
 * `limits`: for each query, a distance that only rows nearer than it matter below (the k-th distance of its list
 * among other rows with lower indices, e.g. the rows of an earlier version). The cells are then searched in one
 * pass, those whose bound is within the limit, and the lists keep only rows nearer than it (empty slots after):
 * the k nearest of the union of the two lists are unchanged, as a row at the limit ranks after the other list's.
 */
export interface SearchLimits {
  readonly limits: Float64Array;
}

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
  limited?: SearchLimits,
): KnnResult {
  checkModel(model);
  const { nlist, d } = model;
  if (queries.d !== d || cells.d !== d || cells.nlist !== nlist) {
    throw new RangeError(`queries (${queries.d}) and cells (${cells.nlist}x${cells.d}) must match the model`);
  }
  const n = queries.n;
  if (limited !== undefined && limited.limits.length !== n) {
    throw new RangeError(`${limited.limits.length} limits for ${n} queries`);
  }
  let scale = 0;
  for (const norm of cells.norms) scale = Math.max(scale, norm);
  for (const norm of rowNormsOf(queries.data, n, d)) scale = Math.max(scale, norm);
  const bounds = new HyperplaneBounds(model, ROUNDING * scale, Math.max(1, Math.min(QUERY_BLOCK, n)));
  // Blocks of queries with the same nearest centroid together: each centroid's gaps are computed once.
  const order = orderByNearest(bounds.nearestCentroids(queries), nlist);
  const lists = emptyKnnResult(n, k);
  const block = { data: new Float32Array(Math.min(QUERY_BLOCK, n) * d), n: 0, d };
  // Limited: each query's admitted cells, block by block, then one search of all queries (limitedLists).
  const admitted: Int32Array[] = new Array(limited ? n : 0);
  for (let b0 = 0; b0 < n; b0 += QUERY_BLOCK) {
    const picked = order.subarray(b0, Math.min(b0 + QUERY_BLOCK, n));
    const blockQueries = { ...block, data: block.data.subarray(0, picked.length * d), n: picked.length };
    for (let i = 0; i < picked.length; i++) {
      blockQueries.data.set(queries.data.subarray(picked[i] * d, (picked[i] + 1) * d), i * d);
    }
    const within = limited && Float64Array.from(picked, (q) => limited.limits[q] + bounds.tolerance);
    const blockBounds = bounds.of(blockQueries, within);
    if (within) {
      for (let i = 0; i < picked.length; i++)
        admitted[picked[i]] = admittedCells(blockBounds.bounds, i, within[i], cells);
      continue;
    }
    const found = blockLists(model, blockQueries, cells, k, blockBounds, rows);
    for (let i = 0; i < picked.length; i++) {
      copySlots(found, i * k, lists, picked[i] * k, k);
    }
  }
  return limited ? limitedLists(queries, cells, k, admitted, rows, limited.limits) : lists;
}

/**
 * The exact lists of a block of queries given their bounds (queries.n x nlist): a query's list depends on its
 * own bounds and the cells only (ivfSearch and knnSearch give the same lists in any batches), so searching the
 * queries block by block gives the lists of one search of them all.
 */
function blockLists(
  model: IvfModel,
  queries: FeatureMatrix,
  cells: IvfCells,
  k: number,
  { bounds, tolerance }: { bounds: Float64Array; tolerance: number },
  rows: OrderedRows | undefined,
): KnnResult {
  const { nlist } = model;
  const n = queries.n;
  const first = Math.min(nlist, FIRST_PASS_CELLS);
  const firstProbes = new Int32Array(n * first);
  for (let q = 0; q < n; q++) lowestBounds(bounds, q * nlist, nlist, firstProbes.subarray(q * first, (q + 1) * first));
  const codes = cells.coded?.codes;
  const lists = ivfSearch(queries, firstProbes, [cells], k, { codes });
  if (first === nlist) return lists;
  // Second pass: every other cell that each query's bound still admits after its first lists.
  const searched = new Uint8Array(nlist);
  const admitted: Int32Array[] = [];
  for (let q = 0; q < n; q++) {
    for (let r = 0; r < first; r++) searched[firstProbes[q * first + r]] = 1;
    admitted.push(admittedCells(bounds, q, lists.distances[q * k + k - 1] + tolerance, cells, searched));
    for (let r = 0; r < first; r++) searched[firstProbes[q * first + r]] = 0;
  }
  return searchAdmitted(queries, cells, k, admitted, rows, lists);
}

/**
 * The lists of the queries among the rows nearer than each query's limit: one search over the cells each query
 * admits (its bound within the limit; a scan of every row where they hold most pairs), then the rows at or beyond
 * the limit dropped. All queries at once, not block by block: few pairs pass a limit (2.6% of a new shard's
 * pairs in an incremental run at 1M + 10% rows), so the search's cost is its per-cell work, which a block per cell
 * repeated for every block that admits the cell (a new shard's calibration part: 0.43 s of search per 50k rows).
 */
function limitedLists(
  queries: FeatureMatrix,
  cells: IvfCells,
  k: number,
  admitted: readonly Int32Array[],
  rows: OrderedRows | undefined,
  limits: Float64Array,
): KnnResult {
  const n = queries.n;
  const lists = searchAdmitted(queries, cells, k, admitted, rows, emptyKnnResult(n, k));
  for (let q = 0; q < n; q++) {
    for (let p = q * k; p < (q + 1) * k; p++) {
      if (!(lists.distances[p] < limits[q])) {
        lists.distances[p] = Number.POSITIVE_INFINITY;
        lists.indices[p] = -1;
      }
    }
  }
  return lists;
}

/** The non-empty cells whose bound for query `q` is within `limit`, ascending, those marked in `skip` left out. */
function admittedCells(bounds: Float64Array, q: number, limit: number, cells: IvfCells, skip?: Uint8Array): Int32Array {
  const { nlist, offsets } = cells;
  const admitted: number[] = [];
  for (let c = 0; c < nlist; c++) {
    if (skip?.[c] || bounds[q * nlist + c] > limit || offsets[c + 1] === offsets[c]) continue;
    admitted.push(c);
  }
  return Int32Array.from(admitted);
}

/**
 * `lists` continued with each query's admitted cells: by ivfSearch over them, or, with the rows given in index
 * order and the cells holding more than SCAN_ABOVE_SHARE of the pairs, a scan of every row.
 */
function searchAdmitted(
  queries: FeatureMatrix,
  cells: IvfCells,
  k: number,
  admitted: readonly Int32Array[],
  rows: OrderedRows | undefined,
  lists: KnnResult,
): KnnResult {
  const n = queries.n;
  let width = 0;
  let pairs = 0;
  for (const cellsOf of admitted) {
    width = Math.max(width, cellsOf.length);
    for (const c of cellsOf) pairs += cells.offsets[c + 1] - cells.offsets[c];
  }
  if (width === 0) return lists;
  if (rows !== undefined && pairs > SCAN_ABOVE_SHARE * n * rows.X.n) {
    return knnSearch(queries, rows.X, k, { kernel: 'wasm', referenceOffset: rows.firstIndex, into: lists });
  }
  const probes = new Int32Array(n * width).fill(-1);
  for (let q = 0; q < n; q++) probes.set(admitted[q], q * width);
  return ivfSearch(queries, probes, [cells], k, { continuing: lists, codes: cells.coded?.codes });
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

function nearestIn(tile: Float64Array, row: number, nlist: number): number {
  let nearest = 0;
  for (let c = 1; c < nlist; c++) if (tile[row + c] < tile[row + nearest]) nearest = c;
  return nearest;
}

/** Query numbers sorted by their nearest centroid, ties in query order (a counting sort). */
function orderByNearest(nearest: Int32Array, nlist: number): Int32Array {
  const start = new Int32Array(nlist + 1);
  for (const c of nearest) start[c + 1]++;
  for (let c = 0; c < nlist; c++) start[c + 1] += start[c];
  const order = new Int32Array(nearest.length);
  for (let q = 0; q < nearest.length; q++) order[start[nearest[q]]++] = q;
  return order;
}

/**
 * h_j^2 for every query of a block and every cell (block x nlist; 0 for the query's nearest cell and for
 * centroids that coincide with it), into one buffer reused block after block, with one distance tile and one
 * row of gaps: 2 x 64 doubles a centroid (3.2 MB each at 6,325 cells), where all queries' bounds at once and the
 * cached gaps of every nearest centroid held about 190 MB at 2,000 queries x 6,325 cells. `tolerance` is taken off
 * |q - c_j|^2 - |q - c*|^2 first: the members were assigned by Float32 distances, so one may sit that far on the
 * wrong side of the exact hyperplane.
 */
class HyperplaneBounds {
  private readonly tiles: DistanceTiles;
  private readonly out: Float64Array;
  /** 1 / (2 |c_j - c*|) of the last nearest centroid c* (blocks come ordered by it; -1: not yet made), and c*. */
  private readonly gaps: Float64Array;
  private gapsFrom = -1;

  constructor(
    private readonly model: IvfModel,
    readonly tolerance: number,
    rows: number,
  ) {
    this.tiles = distanceTiles('wasm', model.d, rows, model.nlist);
    this.tiles.setReference(model.centroids, 0, model.nlist);
    this.out = new Float64Array(rows * model.nlist);
    this.gaps = new Float64Array(model.nlist);
  }

  /** The nearest centroid of each query (by the tiles' distances, ties to the lower cell), block by block. */
  nearestCentroids(queries: FeatureMatrix): Int32Array {
    const { tiles } = this;
    const nearest = new Int32Array(queries.n);
    const block = this.out.length / this.model.nlist;
    for (let q0 = 0; q0 < queries.n; q0 += block) {
      const q1 = Math.min(q0 + block, queries.n);
      tiles.setQuery(queries.data, q0, q1);
      tiles.compute();
      for (let q = q0; q < q1; q++) nearest[q] = nearestIn(tiles.tile, (q - q0) * tiles.stride, this.model.nlist);
    }
    return nearest;
  }

  /**
   * The bounds of a block of at most the constructor's `rows` queries (valid until the next call). With `within`
   * (each query's largest bound of interest), a cell whose bound must exceed it gets +Infinity instead, its gap
   * not computed: |c_j - c*| <= |q - c_j| + |q - c*| (triangle inequality), so h_j > within whenever the excess
   * exceeds 2 within^(1/2) times that sum. A limited calibration (an incremental run's new shards) bounds most
   * cells so, where every gap of each nearest centroid cost 0.2 s per 2,000 queries.
   */
  of(queries: FeatureMatrix, within?: Float64Array): { bounds: Float64Array; tolerance: number } {
    const { nlist } = this.model;
    const { tiles, tolerance } = this;
    tiles.setQuery(queries.data, 0, queries.n);
    tiles.compute();
    const { tile, stride } = tiles;
    for (let q = 0; q < queries.n; q++) {
      const row = q * stride;
      const nearest = nearestIn(tile, row, nlist);
      if (this.gapsFrom !== nearest) {
        this.gaps.fill(-1);
        this.gapsFrom = nearest;
      }
      const floor = tile[row + nearest] + tolerance;
      // Distances from the tiles are within `tolerance` of the exact ones; the margin covers the gaps' rounding.
      const nearestDistance = Math.sqrt(tile[row + nearest] + tolerance);
      const at = q * nlist;
      for (let c = 0; c < nlist; c++) {
        const excess = tile[row + c] - floor;
        if (!(excess > 0)) {
          this.out[at + c] = 0;
          continue;
        }
        if (within !== undefined) {
          const gapAtMost = (Math.sqrt(tile[row + c] + tolerance) + nearestDistance) * (1 + 1e-9);
          if (excess * excess > 4 * within[q] * gapAtMost * gapAtMost) {
            this.out[at + c] = Number.POSITIVE_INFINITY;
            continue;
          }
        }
        const h = excess * this.halfInverseGap(nearest, c);
        this.out[at + c] = h * h;
      }
    }
    return { bounds: this.out.subarray(0, queries.n * nlist), tolerance };
  }

  /** 1 / (2 |c_j - c_from|), in double, computed once per nearest centroid (0 where they coincide: no bound). */
  private halfInverseGap(from: number, j: number): number {
    const known = this.gaps[j];
    if (known >= 0) return known;
    const { d, centroids } = this.model;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const diff = centroids[j * d + t] - centroids[from * d + t];
      s += diff * diff;
    }
    const scale = s > 0 ? 0.5 / Math.sqrt(s) : 0;
    this.gaps[j] = scale;
    return scale;
  }
}
