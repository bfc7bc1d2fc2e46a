import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { distanceTiles } from '../../linalg/distanceTiles.ts';
import { checkModel, type IvfModel } from './ivfModel.ts';

/**
 * Probe lists: the `nprobe` nearest cells of each query row, by (squared distance to the centroid, cell),
 * with the same dot-product kernel as assignCells, so a row's own cell is always among its probes.
 *
 * A list is a SET (nearest cell first, then ascending): the search does not depend on the order, and
 * selecting needs no sort. Per row: one distance row to all centroids (SIMD tiles), the nprobe-th smallest distance from
 * a bounded max-heap (Williams, "Algorithm 232: Heapsort", CACM 1964) in one pass, then one pass keeping the
 * cells below it and, at equal distance, the lower cells up to nprobe.
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
  const block = 64;
  const tiles = distanceTiles('wasm', d, Math.max(1, Math.min(block, X.n)), nlist);
  tiles.setReference(model.centroids, 0, nlist);
  const heap = new Float64Array(nprobe);
  for (let q0 = 0; q0 < X.n; q0 += block) {
    const q1 = Math.min(q0 + block, X.n);
    tiles.setQuery(X.data, q0, q1);
    tiles.compute();
    const { tile, stride } = tiles;
    for (let i = q0; i < q1; i++) {
      const row = (i - q0) * stride;
      let best = 0;
      for (let c = 0; c < nprobe; c++) {
        const v = tile[row + c];
        heap[c] = v;
        if (v < tile[row + best]) best = c;
      }
      for (let c = (nprobe >> 1) - 1; c >= 0; c--) siftDown(heap, nprobe, c);
      for (let c = nprobe; c < nlist; c++) {
        const v = tile[row + c];
        if (v < heap[0]) {
          heap[0] = v;
          siftDown(heap, nprobe, 0);
          if (v < tile[row + best]) best = c;
        }
      }
      nearest[i] = best;
      // The heap holds the nprobe smallest distances: take every cell below its top, and as many cells at
      // the top's distance, lowest first, as the heap holds copies of it.
      const threshold = heap[0];
      let ties = 0;
      for (let h = 0; h < nprobe; h++) if (heap[h] === threshold) ties++;
      let o = i * nprobe;
      probes[o++] = best;
      let lastTie = -1;
      let members = 0;
      for (let c = 0; c < nlist; c++) {
        const v = tile[row + c];
        if (v < threshold || (v === threshold && ties-- > 0)) {
          if (c !== best) probes[o++] = c;
          if (v === threshold) lastTie = c;
          if (cellSizes !== undefined) members += cellSizes[c];
        }
      }
      if (members < minMembers && nprobe < nlist) {
        extras.push({
          row: i,
          cells: nextCells(tile, row, nlist, threshold, lastTie, members, minMembers, cellSizes!),
        });
      }
    }
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

/** Restores the max-heap order of heap[0 .. size) below slot `at`. */
function siftDown(heap: Float64Array, size: number, at: number): void {
  const value = heap[at];
  for (;;) {
    let child = 2 * at + 1;
    if (child >= size) break;
    if (child + 1 < size && heap[child + 1] > heap[child]) child++;
    if (heap[child] <= value) break;
    heap[at] = heap[child];
    at = child;
  }
  heap[at] = value;
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
