import type { FeatureMatrix } from '../data/featureMatrix.ts';
import { packRows, squaredDistancesPacked } from '../linalg/squaredDistances.ts';
import type { DenseGraph } from './denseGraph.ts';
import { DenseKernelTooLargeError } from './errors.ts';

/** Default bound on n for a dense kernel. */
export const DEFAULT_MAX_DENSE_N = 20_000;
/** Default bound on the dense kernel's size in bytes (2 GiB). */
export const DEFAULT_MAX_DENSE_BYTES = 2 * 2 ** 30;

export interface DenseKernelLimits {
  /** Refuse above this many points. Default 20,000. */
  readonly maxN?: number;
  /** Refuse when n*n*8 bytes exceed this. Default 2 GiB. */
  readonly maxBytes?: number;
}

/** Throws DenseKernelTooLargeError when an n x n Float64 kernel exceeds the limits. */
export function checkDenseKernelSize(n: number, limits: DenseKernelLimits = {}): void {
  const { maxN = DEFAULT_MAX_DENSE_N, maxBytes = DEFAULT_MAX_DENSE_BYTES } = limits;
  const bytes = n * n * 8;
  if (n > maxN || bytes > maxBytes) throw new DenseKernelTooLargeError(n, bytes, maxN, maxBytes);
}

/**
 * scikit-learn's `rbf_kernel(X, X, gamma)`: K[i, j] = exp(-gamma * ||x_i - x_j||^2), dense n x n, with
 * K[i, i] = 1 exactly. Guarded by `checkDenseKernelSize`.
 */
export function rbfKernel(X: FeatureMatrix, gamma: number, limits: DenseKernelLimits = {}): DenseGraph {
  checkGamma(gamma);
  checkDenseKernelSize(X.n, limits);
  const { n, d } = X;
  const data = new Float64Array(n * n);
  const all = new Float64Array(n * d);
  packRows(X.data, d, 0, n, all);
  const block = 64;
  const qPack = new Float64Array(block * d);
  for (let q0 = 0; q0 < n; q0 += block) {
    const q1 = Math.min(q0 + block, n);
    packRows(X.data, d, q0, q1, qPack);
    // rows q0..q1 of the kernel, written in place (row stride n)
    squaredDistancesPacked(qPack, q1 - q0, all, n, d, data.subarray(q0 * n, q1 * n));
  }
  for (let p = 0; p < data.length; p++) data[p] = Math.exp(-gamma * data[p]);
  return { n, data };
}

/**
 * Rows [start, end) of the rbf kernel between `A` and `B` (shape (end-start) x B.n) into `out`: the block-wise
 * form of `rbf_kernel(A, B)` that inductive prediction uses without holding the whole matrix.
 */
export function rbfCrossBlock(
  A: FeatureMatrix,
  start: number,
  end: number,
  bPacked: Float64Array,
  bRows: number,
  gamma: number,
  aScratch: Float64Array,
  out: Float64Array,
): void {
  const count = (end - start) * bRows;
  packRows(A.data, A.d, start, end, aScratch);
  squaredDistancesPacked(aScratch, end - start, bPacked, bRows, A.d, out);
  for (let p = 0; p < count; p++) out[p] = Math.exp(-gamma * out[p]);
}

export function checkGamma(gamma: number): void {
  if (!(Number.isFinite(gamma) && gamma > 0)) throw new RangeError(`gamma must be a finite number > 0, got ${gamma}`);
}
