import { type FeatureMatrix, featureMatrix } from '../../data/featureMatrix.ts';
import { type DistanceTiles, distanceTiles } from '../../linalg/distanceTiles.ts';
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
  const extras: { row: number; cells: number[] }[] = [];
  const probes = new Int32Array(X.n * nprobe);
  const nearest = new Int32Array(X.n);
  // The nprobe nearest centroids as exact kNN lists: after the first block of centroids, the kernel's admission
  // bound lets the host skip all but the few centroids that can still enter a list.
  const centroids = featureMatrix(model.centroids, nlist, d);
  const lists = knnSearch(X, centroids, nprobe, { kernel: 'wasm', referenceBlock: PROBE_BLOCK });
  const others = new Int32Array(nprobe - 1);
  let centroidRow: DistanceTiles | undefined; // one row's distances to every centroid, for rows needing extras
  for (let i = 0; i < X.n; i++) {
    const o = i * nprobe;
    nearest[i] = lists.indices[o];
    probes[o] = lists.indices[o];
    for (let r = 1; r < nprobe; r++) others[r - 1] = lists.indices[o + r];
    others.sort();
    probes.set(others, o + 1);
    if (cellSizes === undefined || nprobe === nlist) continue;
    let members = 0;
    for (let r = 0; r < nprobe; r++) members += cellSizes[lists.indices[o + r]];
    if (members >= minMembers) continue;
    if (centroidRow === undefined) {
      centroidRow = distanceTiles('wasm', d, 1, nlist);
      centroidRow.setReference(model.centroids, 0, nlist);
    }
    centroidRow.setQuery(X.data, i, i + 1);
    centroidRow.compute();
    const last = o + nprobe - 1;
    extras.push({
      row: i,
      cells: nextCells(
        centroidRow.tile,
        0,
        nlist,
        lists.distances[last],
        lists.indices[last],
        members,
        minMembers,
        cellSizes,
      ),
    });
  }
  if (extras.length === 0) return { width: nprobe, probes, nearest };
  const width = nprobe + Math.max(...extras.map((e) => e.cells.length));
  const wide = new Int32Array(X.n * width).fill(-1);
  for (let i = 0; i < X.n; i++) wide.set(probes.subarray(i * nprobe, (i + 1) * nprobe), i * width);
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
