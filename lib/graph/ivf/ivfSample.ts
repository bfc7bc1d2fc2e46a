import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { hashUniform } from '../../linalg/seededRandom.ts';

/**
 * The row samples of an IVF index: row g (global index) is in a sample when hashUniform(seed, g) < rate. The
 * test depends on nothing but (seed, g, rate), so each shard picks its own sample rows, and a sample (in
 * global index order) is the same for every shard count. Its size is rate * n on average (Bernoulli sampling).
 * Two samples are drawn: the training rows of k-means (seed) and the calibration queries of nprobe
 * (calibrationSeed(seed)), independent of each other.
 */

/** Default training rows per cell: FAISS warns below 39 per centroid (k-means then costs 40 nlist^2 d per iteration). */
export const SAMPLE_ROWS_PER_CELL = 40;

/** The rate giving about `perCell * nlist` sample rows out of n (1 when that is n or more). */
export function ivfSampleRate(n: number, nlist: number, perCell: number = SAMPLE_ROWS_PER_CELL): number {
  if (n <= 0) return 1;
  return Math.min(1, (perCell * nlist) / n);
}

/** The rate giving about `count` calibration queries out of n. */
export function ivfCalibrationRate(n: number, count: number): number {
  if (n <= 0) return 1;
  return Math.min(1, count / n);
}

/** The seed of the calibration sample, derived from the index seed. */
export function calibrationSeed(seed: number): number {
  return (seed ^ 0x5bd1e995) >>> 0;
}

/** True when global row `index` belongs to the sample. */
export function inIvfSample(index: number, rate: number, seed: number): boolean {
  return rate >= 1 || hashUniform(seed, index) < rate;
}

/** The sample rows among rows X (row i has global index firstIndex + i): their vectors and global indices. */
export function ivfSampleRows(
  X: FeatureMatrix,
  firstIndex: number,
  rate: number,
  seed: number,
): { readonly X: FeatureMatrix; readonly indices: Int32Array } {
  const { n, d } = X;
  const picked: number[] = [];
  for (let i = 0; i < n; i++) if (inIvfSample(firstIndex + i, rate, seed)) picked.push(i);
  const data = new Float32Array(picked.length * d);
  const indices = new Int32Array(picked.length);
  for (let s = 0; s < picked.length; s++) {
    indices[s] = firstIndex + picked[s];
    for (let t = 0; t < d; t++) data[s * d + t] = X.data[picked[s] * d + t];
  }
  return { X: { data, n: picked.length, d }, indices };
}
