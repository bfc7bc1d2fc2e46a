/**
 * Fixed-size top-k lists over flat arrays: list q occupies slots [q*k, (q+1)*k) of a distances
 * Float64Array and an indices Int32Array, kept sorted ascending by (distance, index). The order is total and
 * deterministic: a smaller distance comes first and, at equal distance, the LOWER index wins. Empty slots
 * hold (+Infinity, -1) and sort last. Insertion is an insertion sort step, which beats a heap for the small
 * k (5-50) of kNN graphs.
 */

/** Marks every slot empty: distance +Infinity, index -1. */
export function clearTopK(distances: Float64Array, indices: Int32Array): void {
  distances.fill(Number.POSITIVE_INFINITY);
  indices.fill(-1);
}

/** True when candidate (d1, i1) ranks strictly before (d2, i2); empty slots (index -1) rank after everything. */
export function ranksBefore(d1: number, i1: number, d2: number, i2: number): boolean {
  if (d1 < d2) return true;
  if (d1 > d2 || i1 < 0) return false;
  // d1 === d2 here (NaN never enters a list)
  return i2 < 0 || i1 < i2;
}

/**
 * Whether candidate (v, index) enters a list whose last slot holds (bound, boundIndex): ranksBefore, except
 * that NaN never enters. The test the tile loops make before calling offerTopK (which makes it again). Loops
 * that test every entry of a tile (offerTileRows, knnSelfSearch) write it out: there the call cost 6-20%.
 */
export function entersList(v: number, index: number, bound: number, boundIndex: number): boolean {
  return v < bound || (v === bound && (boundIndex < 0 || index < boundIndex));
}

/**
 * Offers candidate (distance, index) to the list starting at `base` with `k` slots. Returns the list's
 * distance at its last slot afterwards (the current admission bound). A candidate whose index is already in
 * the list is ignored, so offering the same point twice is harmless.
 */
export function offerTopK(
  distances: Float64Array,
  indices: Int32Array,
  base: number,
  k: number,
  distance: number,
  index: number,
): number {
  const last = base + k - 1;
  if (!ranksBefore(distance, index, distances[last], indices[last])) return distances[last];
  // Equal (distance, index) pairs are adjacent in a sorted list: find the insertion point and check it.
  let p = last;
  while (p > base && ranksBefore(distance, index, distances[p - 1], indices[p - 1])) p--;
  if (p > base && indices[p - 1] === index) return distances[last];
  for (let s = last; s > p; s--) {
    distances[s] = distances[s - 1];
    indices[s] = indices[s - 1];
  }
  distances[p] = distance;
  indices[p] = index;
  return distances[last];
}

/**
 * Merges two sets of `n` sorted top-k lists (same k) into `outDistances`/`outIndices` (which may alias
 * neither input). Keeps the k first by (distance, index) and drops a repeated index, so merging a block's
 * result twice, or blocks in any order, gives the same lists as one search over all blocks.
 */
export function mergeTopKLists(
  aDistances: Float64Array,
  aIndices: Int32Array,
  bDistances: Float64Array,
  bIndices: Int32Array,
  n: number,
  k: number,
  outDistances: Float64Array,
  outIndices: Int32Array,
): void {
  for (let q = 0; q < n; q++) {
    const base = q * k;
    const end = base + k;
    let ia = base;
    let ib = base;
    let o = base;
    let lastIndex = -1;
    while (o < end) {
      let d: number;
      let idx: number;
      const aLive = ia < end && aIndices[ia] >= 0;
      const bLive = ib < end && bIndices[ib] >= 0;
      if (!aLive && !bLive) break;
      if (aLive && (!bLive || ranksBefore(aDistances[ia], aIndices[ia], bDistances[ib], bIndices[ib]))) {
        d = aDistances[ia];
        idx = aIndices[ia++];
      } else {
        d = bDistances[ib];
        idx = bIndices[ib++];
      }
      if (idx === lastIndex) continue;
      outDistances[o] = d;
      outIndices[o++] = idx;
      lastIndex = idx;
    }
    for (; o < end; o++) {
      outDistances[o] = Number.POSITIVE_INFINITY;
      outIndices[o] = -1;
    }
  }
}

/**
 * Offers the entries of a distance tile (nq rows of nr, row stride `stride`) to the top-k lists `lists[i]`
 * as indices `references[j]`; an entry that cannot enter its list costs no call.
 */
export function offerTileRows(
  tile: Float64Array,
  stride: number,
  nq: number,
  nr: number,
  lists: Int32Array,
  references: Int32Array,
  k: number,
  distances: Float64Array,
  indices: Int32Array,
): void {
  for (let i = 0; i < nq; i++) {
    const base = lists[i] * k;
    const last = base + k - 1;
    let bound = distances[last];
    let boundIndex = indices[last];
    const row = i * stride;
    for (let j = 0; j < nr; j++) {
      const v = tile[row + j];
      // entersList, written out: every entry is tested here, where a call per entry measured slower.
      if (v < bound || (v === bound && (boundIndex < 0 || references[j] < boundIndex))) {
        bound = offerTopK(distances, indices, base, k, v, references[j]);
        boundIndex = indices[last];
      }
    }
  }
}
