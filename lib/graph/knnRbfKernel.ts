import type { FeatureMatrix } from '../data/featureMatrix.ts';
import type { CsrGraph } from './csrGraph.ts';
import { checkComplete, checkNeighbors } from './knnKernel.ts';
import { type KnnResult, knnSelfSearch } from './knnSearch.ts';
import { checkGamma } from './rbfKernel.ts';

/**
 * Sparse rbf kernel on kNN edges (kernel 'knn-rbf'): the edges of the knn connectivity graph, each weighted
 * exp(-gamma * ||x_i - x_j||^2) instead of 1 (the "top-K rbf" callable kernel of scikit-learn's
 * test_predict_sparse_callable_kernel, without its transpose). Memory O(n k), so it scales where the
 * dense rbf kernel cannot. Self-loops weigh exp(0) = 1.
 */
export function knnRbfGraph(X: FeatureMatrix, nNeighbors: number, gamma: number): CsrGraph {
  checkNeighbors(nNeighbors, X.n);
  checkGamma(gamma);
  return rbfWeightsFromNeighbors(knnSelfSearch(X, nNeighbors), gamma);
}

/** rbf weights on precomputed neighbour lists (squared distances, every slot filled). */
export function rbfWeightsFromNeighbors(neighbors: KnnResult, gamma: number): CsrGraph {
  checkGamma(gamma);
  checkComplete(neighbors);
  const { n, k, indices, distances } = neighbors;
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) indptr[i] = i * k;
  const data = new Float64Array(n * k);
  for (let p = 0; p < data.length; p++) data[p] = Math.exp(-gamma * distances[p]);
  return { n, indptr, indices: Int32Array.from(indices), data };
}
