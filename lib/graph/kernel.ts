import type { FeatureMatrix } from '../data/featureMatrix.ts';
import { packRows } from '../linalg/squaredDistances.ts';
import type { Graph } from './affinity.ts';
import { checkNeighbors, knnConnectivity } from './knnKernel.ts';
import { knnRbfGraph } from './knnRbfKernel.ts';
import { knnSearch } from './knnSearch.ts';
import { checkGamma, type DenseKernelLimits, rbfCrossBlock, rbfKernel } from './rbfKernel.ts';

/**
 * Kernel names: scikit-learn's 'rbf' (dense) and 'knn' (connectivity), plus 'knn-rbf' (rbf weights on the
 * knn edges, sparse) for large n.
 */
export const KERNELS = ['rbf', 'knn', 'knn-rbf'] as const;
export type KernelName = (typeof KERNELS)[number];

export interface KernelParams {
  readonly kernel: KernelName;
  readonly gamma: number;
  readonly nNeighbors: number;
  /** Memory guard of the dense rbf kernel. */
  readonly denseLimits?: DenseKernelLimits;
}

/** Parameter checks that do not depend on the data. */
export function checkKernelParams(params: KernelParams): void {
  if (!(KERNELS as readonly string[]).includes(params.kernel)) {
    throw new RangeError(`kernel must be one of ${KERNELS.join(', ')}, got '${String(params.kernel)}'`);
  }
  checkGamma(params.gamma);
  if (!Number.isInteger(params.nNeighbors) || params.nNeighbors < 1) {
    throw new RangeError(`nNeighbors must be an integer >= 1, got ${params.nNeighbors}`);
  }
}

/** scikit-learn's `_get_kernel(X)`: the affinity between all training points. */
export function buildAffinity(X: FeatureMatrix, params: KernelParams): Graph {
  checkKernelParams(params);
  switch (params.kernel) {
    case 'rbf':
      return rbfKernel(X, params.gamma, params.denseLimits);
    case 'knn':
      return knnConnectivity(X, params.nNeighbors);
    case 'knn-rbf':
      return knnRbfGraph(X, params.nNeighbors, params.gamma);
  }
}

/**
 * W F for new points: W[m, n] holds the kernel weights between new point m and training point n, F the
 * n x k training label distributions; the result (Xnew.n x k) is what scikit-learn's `predict_proba`
 * normalises. 'rbf': `rbf_kernel(X_train, X_new).T @ F`, computed 256 new rows at a time (no m x n matrix);
 * 'knn': the sum of F over the k nearest training points of each new point (`kneighbors(X_new)`), and
 * 'knn-rbf' the same sum weighted by exp(-gamma d^2).
 */
export function inductiveProduct(
  Xtrain: FeatureMatrix,
  Xnew: FeatureMatrix,
  params: KernelParams,
  F: Float64Array,
  k: number,
): Float64Array {
  checkKernelParams(params);
  if (Xnew.d !== Xtrain.d) throw new RangeError(`X has ${Xnew.d} features, but the model was fit with ${Xtrain.d}`);
  const m = Xnew.n;
  const n = Xtrain.n;
  const out = new Float64Array(m * k);
  if (params.kernel === 'rbf') {
    const block = 256;
    const trainPacked = new Float64Array(n * Xtrain.d);
    packRows(Xtrain.data, Xtrain.d, 0, n, trainPacked);
    const scratch = new Float64Array(block * Xtrain.d);
    const weights = new Float64Array(block * n);
    for (let r0 = 0; r0 < m; r0 += block) {
      const r1 = Math.min(r0 + block, m);
      rbfCrossBlock(Xnew, r0, r1, trainPacked, n, params.gamma, scratch, weights);
      for (let r = r0; r < r1; r++) {
        const wRow = (r - r0) * n;
        const o = r * k;
        for (let j = 0; j < n; j++) {
          const w = weights[wRow + j];
          if (w === 0) continue;
          const src = j * k;
          for (let c = 0; c < k; c++) out[o + c] += w * F[src + c];
        }
      }
    }
    return out;
  }
  checkNeighbors(params.nNeighbors, n);
  const nn = params.nNeighbors;
  const neighbors = knnSearch(Xnew, Xtrain, nn);
  const weighted = params.kernel === 'knn-rbf';
  for (let r = 0; r < m; r++) {
    const o = r * k;
    for (let s = r * nn; s < (r + 1) * nn; s++) {
      const src = neighbors.indices[s] * k;
      const w = weighted ? Math.exp(-params.gamma * neighbors.distances[s]) : 1;
      for (let c = 0; c < k; c++) out[o + c] += w * F[src + c];
    }
  }
  return out;
}
