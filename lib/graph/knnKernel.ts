import type { FeatureMatrix } from '../data/featureMatrix.ts';
import type { CsrGraph } from './csrGraph.ts';
import { type KnnResult, knnSelfSearch } from './knnSearch.ts';

/** Checks nNeighbors against the number of points, naming both. */
export function checkNeighbors(nNeighbors: number, n: number): void {
  if (!Number.isInteger(nNeighbors) || nNeighbors < 1) {
    throw new RangeError(`nNeighbors must be an integer >= 1, got ${nNeighbors}`);
  }
  if (nNeighbors > n) {
    throw new RangeError(`nNeighbors=${nNeighbors} is greater than the number of points n=${n}`);
  }
}

/**
 * scikit-learn's knn kernel, `NearestNeighbors(n_neighbors=k).fit(X).kneighbors_graph(X, k, mode='connectivity')`:
 * row i has weight 1 on each of the k nearest points of x_i, and since x_i is queried against the set that
 * contains it, those k include i itself (or an identical point of lower index): the self-loop of
 * scikit-learn's graph. The graph is not symmetric.
 */
export function knnConnectivity(X: FeatureMatrix, nNeighbors: number): CsrGraph {
  checkNeighbors(nNeighbors, X.n);
  return connectivityFromNeighbors(knnSelfSearch(X, nNeighbors));
}

/** The connectivity graph of precomputed neighbour lists (every slot filled, one list per point). */
export function connectivityFromNeighbors(neighbors: KnnResult): CsrGraph {
  const { n, k, indices } = neighbors;
  checkComplete(neighbors);
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) indptr[i] = i * k;
  return { n, indptr, indices: Int32Array.from(indices), data: new Float64Array(n * k).fill(1) };
}

export function checkComplete(neighbors: KnnResult): void {
  const { n, k, indices } = neighbors;
  if (indices.length !== n * k) throw new RangeError(`neighbour lists hold ${indices.length} slots, expected ${n * k}`);
  for (let p = 0; p < indices.length; p++) {
    if (indices[p] < 0 || indices[p] >= n) {
      throw new RangeError(`neighbour list of point ${Math.floor(p / k)} has an empty or out-of-range slot`);
    }
  }
}
