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
 * order[r] = the row numbered r: breadth first over the graph's entries in their stored order, each component
 * from its lowest unvisited row. A permutation of 0..n-1.
 */
export function breadthFirstOrder(graph: CsrGraph): Int32Array {
  const { n, indptr, indices } = graph;
  const order = new Int32Array(n);
  const visited = new Uint8Array(n);
  let tail = 0;
  for (let root = 0; root < n; root++) {
    if (visited[root] === 1) continue;
    visited[root] = 1;
    order[tail++] = root;
    for (let head = tail - 1; head < tail; head++) {
      const row = order[head];
      for (let p = indptr[row]; p < indptr[row + 1]; p++) {
        const column = indices[p];
        if (visited[column] === 0) {
          visited[column] = 1;
          order[tail++] = column;
        }
      }
    }
  }
  return order;
}

/**
 * The graph with row order[r] as row r, columns renumbered alike. Each row keeps its entries in their stored
 * order, so a product's sums run in the same order and give the same doubles, row for row. `shared`: the
 * arrays are made in shared memory, for a product over threads (parallelCsrProduct.ts) to use without a copy.
 */
export function renumberCsr(graph: CsrGraph, order: Int32Array, shared = false): CsrGraph {
  const { n, indptr, indices, data } = graph;
  if (order.length !== n) throw new RangeError(`an order of ${order.length} rows for a graph of ${n}`);
  const position = new Int32Array(n);
  for (let r = 0; r < n; r++) position[order[r]] = r;
  const bytes = (size: number) => (shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
  const newIndptr = new Int32Array(bytes(4 * (n + 1)));
  const newIndices = new Int32Array(bytes(4 * indices.length));
  const newData = new Float64Array(bytes(8 * data.length));
  let q = 0;
  for (let r = 0; r < n; r++) {
    const row = order[r];
    for (let p = indptr[row]; p < indptr[row + 1]; p++, q++) {
      newIndices[q] = position[indices[p]];
      newData[q] = data[p];
    }
    newIndptr[r + 1] = q;
  }
  return { n, indptr: newIndptr, indices: newIndices, data: newData };
}
