import { type CsrGraph, csrMultiply } from './csrGraph.ts';
import { type DenseGraph, denseMultiply } from './denseGraph.ts';

/** A graph in either storage: CSR (knn kernels, large n) or dense (rbf, small n). */
export type Graph = CsrGraph | DenseGraph;

export function isCsr(graph: Graph): graph is CsrGraph {
  return 'indptr' in graph;
}

/**
 * The one thing label propagation needs from a graph (scipy's LinearOperator idea): the product with an
 * n x k block of label distributions. Dense and CSR graphs both provide it; a distributed reducer can
 * provide its own (for instance one that multiplies shard by shard).
 */
export interface AffinityOperator {
  readonly n: number;
  /** out = A Y, with Y and out n x k row-major; out never aliases Y. */
  multiply(Y: Float64Array, k: number, out: Float64Array): void;
}

/** Wraps a dense or CSR graph as an AffinityOperator. */
export function affinityOperator(graph: Graph): AffinityOperator {
  if (isCsr(graph)) return { n: graph.n, multiply: (Y, k, out) => csrMultiply(graph, Y, k, out) };
  return { n: graph.n, multiply: (Y, k, out) => denseMultiply(graph, Y, k, out) };
}

/**
 * A copy of a graph's weights (a CSR graph shares its structure, which nothing changes). The graph transforms
 * (rowNormalize, normalizedLaplacianAffinity) work in place, so whoever propagates over one graph more than once
 * (auto's cross-validation, the holdout's splits) hands each run a copy: a second normalisation of an already
 * normalised graph is another graph.
 */
export function copyGraph<G extends Graph>(graph: G): G {
  return { ...graph, data: Float64Array.from(graph.data) };
}
