import { type FeatureMatrix, featureMatrix } from '../../data/featureMatrix.ts';
import { type DistanceTiles, distanceTiles } from '../../linalg/distanceTiles.ts';
import type { Int16Codes } from '../../linalg/int16Codes.ts';
import { knnSearch } from '../knnSearch.ts';
import { checkModel, type IvfModel } from './ivfModel.ts';

/**
 * Probe lists: the `nprobe` nearest cells of each query row, by (squared distance to the centroid, cell),
 * with the same dot-product kernel as assignCells, so a row's own cell is always among its probes.
 *
 * A list is a SET (nearest cell first, then ascending): the search does not depend on the order, and
 * selecting is knnSearch over the centroids (k = nprobe, ties to the lower cell), in blocks of PROBE_BLOCK centroids.
 */
export interface ProbeLists {
  /** Cells per row: nprobe, or more when rows needed extra cells (see ProbeOptions.minMembers). */
  readonly width: number;
  /**
   * queries.n x width cells: the nearest cell, the other nprobe - 1 nearest ascending, then any extra cells
   * nearest first, then -1s. (ivfSearch does not depend on the order.)
   */
  readonly probes: Int32Array;
  /** The nearest cell of each row (its assignment as a member). */
  readonly nearest: Int32Array;
}

export interface ProbeOptions {
  /** Cells per row. Default model.nprobe. */
  readonly nprobe?: number;
  /**
   * With `cellSizes` (members of each cell over all shards, ivfCellSizes): a row whose nprobe cells hold
   * fewer members also probes its next nearest cells until they hold this many (or all cells are probed),
   * so that its list can be full. Give k. Default 0 (off).
   */
  readonly minMembers?: number;
  readonly cellSizes?: Int32Array;
  /**
   * Each row's nearest cells as `nearestCells` found them (X.n x width, nearest first), when computed before
   * (the cells task keeps them): used instead of a new search when width >= nprobe.
   */
  readonly nearest?: NearestCells;
}

/** The `width` nearest cells of each row, by (distance to the centroid, cell): row i at i * width. */
export interface NearestCells {
  readonly width: number;
  readonly cells: Int32Array;
}

/**
 * Nearest cells kept per row by the cells task for the neighbors task's probes: enough for the nprobe that
 * calibration gives on data of low to moderate intrinsic dimension (4 of 158 cells at 100k and 6 of 1000 at 1M
 * on the bench mixture, 11 of 158 at 100k on blobs). The neighbors task finds its own when nprobe is larger.
 * From 8 to 12: 100k blobs CLI 4.47 -> 4.39 s (medians of 8; no recomputation), 100k mixture unchanged, 1M
 * mixture about 0.3 s slower (34.2 -> 34.5 s: the cells tasks' search, 125k rows x 1000 cells, costs more).
 */
export const KEPT_NEAREST_CELLS = 12;

/** Each row's nearest cell (its cell as a member): the first of its nearest cells. */
export function firstCells({ width, cells }: NearestCells): Int32Array {
  const first = new Int32Array(cells.length / width);
  for (let i = 0; i < first.length; i++) first[i] = cells[i * width];
  return first;
}

/** The `width` nearest cells of every row of X (width <= nlist), ties to the lower cell, nearest first. */
export function nearestCells(model: IvfModel, X: FeatureMatrix, width: number, codes?: Int16Codes): NearestCells {
  checkModel(model);
  if (X.d !== model.d) throw new RangeError(`rows have ${X.d} features but the IVF model has ${model.d}`);
  if (!Number.isInteger(width) || width < 1 || width > model.nlist) {
    throw new RangeError(`width must be an integer in [1, nlist=${model.nlist}], got ${width}`);
  }
  const centroids = featureMatrix(model.centroids, model.nlist, model.d);
  // After the first block of centroids, the kernel's admission bound lets the host skip all but the few
  // centroids that can still enter a list.
  // `codes`: the run's, which cover its rows and the centroids (means of rows); else made from these rows.
  const lists = knnSearch(X, centroids, width, { kernel: 'wasm', referenceBlock: PROBE_BLOCK, codes });
  return { width, cells: lists.indices };
}

/** Centroids per tile when probing: after the first tile, a list's bound rules out most centroids unvisited. */
const PROBE_BLOCK = 512;

export function probeCells(model: IvfModel, X: FeatureMatrix, options: ProbeOptions = {}): ProbeLists {
  const { nprobe = model.nprobe, minMembers = 0, cellSizes } = options;
  checkModel(model);
  const { nlist, d } = model;
  if (X.d !== d) throw new RangeError(`rows have ${X.d} features but the IVF model has ${d}`);
  if (!Number.isInteger(nprobe) || nprobe < 1 || nprobe > nlist) {
    throw new RangeError(`nprobe must be an integer in [1, nlist=${nlist}], got ${nprobe}`);
  }
  if (minMembers > 0 && cellSizes?.length !== nlist)
    throw new RangeError(`minMembers needs the sizes of ${nlist} cells`);
  if (options.nearest && options.nearest.cells.length !== X.n * options.nearest.width) {
    throw new RangeError(`${options.nearest.cells.length} nearest cells for ${X.n} rows of ${options.nearest.width}`);
  }
  const extras: { row: number; cells: number[] }[] = [];
  const probes = new Int32Array(X.n * nprobe);
  const nearest = new Int32Array(X.n);
  // The first nprobe of the kept (distance, cell) order are the nprobe nearest: the same lists either way.
  const known = options.nearest && options.nearest.width >= nprobe ? options.nearest : nearestCells(model, X, nprobe);
  const stride = known.width;
  const others = new Int32Array(nprobe - 1);
  let centroidRow: DistanceTiles | undefined; // one row's distances to every centroid, for rows needing extras
  for (let i = 0; i < X.n; i++) {
    const o = i * nprobe;
    const at = i * stride;
    nearest[i] = known.cells[at];
    probes[o] = known.cells[at];
    for (let r = 1; r < nprobe; r++) others[r - 1] = known.cells[at + r];
    others.sort();
    probes.set(others, o + 1);
    if (cellSizes === undefined || nprobe === nlist) continue;
    let members = 0;
    for (let r = 0; r < nprobe; r++) members += cellSizes[known.cells[at + r]];
    if (members >= minMembers) continue;
    if (centroidRow === undefined) {
      centroidRow = distanceTiles('wasm', d, 1, nlist);
      centroidRow.setReference(model.centroids, 0, nlist);
    }
    centroidRow.setQuery(X.data, i, i + 1);
    centroidRow.compute();
    const last = known.cells[at + nprobe - 1];
    extras.push({
      row: i,
      cells: nextCells(centroidRow.tile, 0, nlist, centroidRow.tile[last], last, members, minMembers, cellSizes),
    });
  }
  if (extras.length === 0) return { width: nprobe, probes, nearest };
  const width = nprobe + Math.max(...extras.map((e) => e.cells.length));
  const wide = new Int32Array(X.n * width).fill(-1);
  for (let i = 0; i < X.n; i++) {
    for (let j = 0; j < nprobe; j++) wide[i * width + j] = probes[i * nprobe + j];
  }
  for (const { row, cells } of extras) wide.set(cells, row * width + nprobe);
  return { width, probes: wide, nearest };
}

/** The cells after (threshold, lastTie) in (distance, cell) order, nearest first, until `members` reaches min. */
function nextCells(
  tile: Float64Array,
  row: number,
  nlist: number,
  threshold: number,
  lastTie: number,
  members: number,
  minMembers: number,
  cellSizes: Int32Array,
): number[] {
  const out: number[] = [];
  let vLast = threshold;
  let cLast = lastTie;
  while (members < minMembers) {
    let best = -1;
    for (let c = 0; c < nlist; c++) {
      const v = tile[row + c];
      if (v < vLast || (v === vLast && c <= cLast)) continue;
      if (best < 0 || v < tile[row + best]) best = c;
    }
    if (best < 0) break;
    out.push(best);
    members += cellSizes[best];
    vLast = tile[row + best];
    cLast = best;
  }
  return out;
}

/** The cells a search over these probe lists (any width, -1 = none) reads: ascending, without repeats. */
export function cellsToRead(probes: Int32Array, nlist: number): Int32Array {
  const seen = new Uint8Array(nlist);
  let count = 0;
  for (let i = 0; i < probes.length; i++) {
    const c = probes[i];
    if (c >= 0 && seen[c] === 0) {
      seen[c] = 1;
      count++;
    }
  }
  const out = new Int32Array(count);
  for (let c = 0, o = 0; c < nlist; c++) if (seen[c] === 1) out[o++] = c;
  return out;
}
