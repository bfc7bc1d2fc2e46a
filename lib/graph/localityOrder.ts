import type { CsrGraph } from './csrGraph.ts';

/**
 * Rows renumbered for cache locality. In input order a kNN graph's neighbours are scattered over the whole
 * n x k block of label distributions, so nearly every term of the graph product misses the cache once that
 * block outgrows it (80 MB at 1M rows and 10 classes). Numbered breadth first (the Cuthill-McKee ordering
 * without its degree sort: Cuthill & McKee, "Reducing the bandwidth of sparse symmetric matrices", ACM 1969),
 * a row's neighbours get nearby numbers: at 1M rows the product took half the time.
 */

/** Rows from which label propagation runs on the renumbered graph (below, the block fits in the cache). */
export const LOCALITY_FROM_ROWS = 50_000;

/**
 * The graph renumbered breadth first: `order[r]` is the row numbered r (a permutation of 0..n-1), found over the
 * graph's entries in their stored order, each component from its lowest unnumbered row; `graph` has row
 * order[r] as row r, its columns renumbered alike. One pass: a row is numbered when first met and written out
 * when the search reaches it, by which time every row it points to has its number. Each row keeps its entries
 * in their stored order, so a product's sums run in the same order and give the same doubles, row for row.
 * `shared`: the arrays are made in shared memory, for a product over threads (parallelCsrProduct.ts) to use
 * without a copy. `unitWeights`: every weight is 1 (the knn kernel's connectivity), so the weights are not read:
 * at 1.1M rows the renumbering then moves 4 bytes an entry instead of 12.
 */
export function renumberBreadthFirst(
  graph: CsrGraph,
  shared = false,
  unitWeights = false,
): { order: Int32Array; graph: CsrGraph } {
  const { n, indptr, indices, data } = graph;
  const bytes = (size: number) => (shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
  const order = new Int32Array(n);
  const position = new Int32Array(n).fill(-1);
  const newIndptr = new Int32Array(bytes(4 * (n + 1)));
  const newIndices = new Int32Array(bytes(4 * indices.length));
  const newData = new Float64Array(bytes(8 * data.length));
  let tail = 0;
  let q = 0;
  for (let root = 0; root < n; root++) {
    if (position[root] !== -1) continue;
    position[root] = tail;
    order[tail++] = root;
    for (let head = tail - 1; head < tail; head++) {
      const row = order[head];
      for (let p = indptr[row]; p < indptr[row + 1]; p++, q++) {
        const column = indices[p];
        let number = position[column];
        if (number === -1) {
          number = tail;
          position[column] = tail;
          order[tail++] = column;
        }
        newIndices[q] = number;
        if (!unitWeights) newData[q] = data[p];
      }
      newIndptr[head + 1] = q;
    }
  }
  if (unitWeights) newData.fill(1);
  return { order, graph: { n, indptr: newIndptr, indices: newIndices, data: newData } };
}
