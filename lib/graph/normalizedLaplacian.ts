import type { Graph } from './affinity.ts';
import { isCsr } from './affinity.ts';
import type { CsrGraph } from './csrGraph.ts';

/**
 * LabelSpreading's `_build_graph`: S = -L_sym with a zeroed diagonal, where L_sym is
 * `scipy.sparse.csgraph.laplacian(A, normed=True)`. Off the diagonal S[i, j] = A[i, j] / sqrt(w_i w_j) with
 * w the in-degrees (column sums, scipy's default `use_out_degree=False`) not counting the diagonal; an
 * isolated point (w = 0) gets w = 1 (scipy's zero-degree guard), so its row and column stay 0.
 * This is the symmetrically normalised graph D^-1/2 W D^-1/2 of Zhou et al. (2004). In place; returns the graph.
 * `degrees`: the in-degrees, when summed elsewhere (propagation.ts sums them before renumbering the graph).
 */
export function normalizedLaplacianAffinity<G extends Graph>(graph: G, degrees?: Float64Array): G {
  const n = graph.n;
  if (isCsr(graph)) {
    const { indptr, indices, data } = graph;
    const w = degrees ?? inDegrees(graph);
    sqrtWithGuard(w);
    for (let i = 0; i < n; i++) {
      for (let p = indptr[i]; p < indptr[i + 1]; p++) {
        const j = indices[p];
        data[p] = j === i ? 0 : data[p] / w[i] / w[j];
      }
    }
    return graph;
  }
  const w = new Float64Array(n);
  const { data } = graph;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) if (j !== i) w[j] += data[row + j];
  }
  sqrtWithGuard(w);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    const wi = w[i];
    for (let j = 0; j < n; j++) data[row + j] = j === i ? 0 : data[row + j] / w[j] / wi;
  }
  return graph;
}

/** w <- sqrt(w), a zero degree counted as 1 (scipy's guard); the fanned-out degrees tasks use it too. */
export function sqrtWithGuard(w: Float64Array): void {
  for (let i = 0; i < w.length; i++) w[i] = w[i] === 0 ? 1 : Math.sqrt(w[i]);
}

/** The in-degrees of a CSR graph without its diagonal: column sums, added over the rows in order. */
export function inDegrees(graph: CsrGraph): Float64Array {
  const { n, indptr, indices, data } = graph;
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let p = indptr[i]; p < indptr[i + 1]; p++) if (indices[p] !== i) w[indices[p]] += data[p];
  }
  return w;
}
