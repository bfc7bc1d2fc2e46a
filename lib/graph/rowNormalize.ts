import type { Graph } from './affinity.ts';
import { isCsr } from './affinity.ts';

/**
 * LabelPropagation's `_build_graph` as in scikit-learn 1.9 (the fixtures' version; releases before the
 * sparse fix divided row i by column i's sum): divides every row of the affinity by its sum,
 * giving the row-stochastic transition matrix T of Zhu & Ghahramani (2002). In place; returns the graph.
 * Built-in kernels always have a positive row sum (the self-loop weighs 1); a row summing to 0 in a custom
 * graph is left at 0 where scikit-learn would produce NaN.
 */
export function rowNormalize<G extends Graph>(graph: G): G {
  if (isCsr(graph)) {
    const { n, indptr, data } = graph;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let p = indptr[i]; p < indptr[i + 1]; p++) sum += data[p];
      if (sum === 0) continue;
      for (let p = indptr[i]; p < indptr[i + 1]; p++) data[p] /= sum;
    }
    return graph;
  }
  const { n, data } = graph;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += data[row + j];
    if (sum === 0) continue;
    for (let j = 0; j < n; j++) data[row + j] /= sum;
  }
  return graph;
}
