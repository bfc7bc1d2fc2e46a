import type { FeatureMatrix } from '../lib/data/featureMatrix.ts';
import { classSampler, normal, sfc32 } from './gaussianBlobs.ts';

/**
 * In-process data of the kNN benchmarks, n x d Float32, seeded:
 * - mixture: 10 classes; each class a Gaussian around a centre from N(0, 2^2 I), spread inside the class along
 *   an 8-dimensional random subspace (N(0, 1) latent) plus N(0, 0.1^2) noise in every dimension: low intrinsic
 *   dimension, as embeddings have;
 * - blobs: gaussianBlobs.ts's classes (centres N(0, 0.7^2 I), points N(centre, I)): the full d dimensions of
 *   noise, the hard case for any index;
 * - uniform: U(-1, 1)^d, harder still (no structure at all).
 */
export type DataKind = 'mixture' | 'blobs' | 'uniform';

export function syntheticRows(kind: DataKind, n: number, d: number, seed: number): FeatureMatrix {
  const uniform = sfc32(seed + 1);
  const gauss = normal(uniform);
  const data = new Float32Array(n * d);
  const classes = 10;
  if (kind === 'uniform') {
    for (let i = 0; i < data.length; i++) data[i] = uniform() * 2 - 1;
  } else {
    const draw = classSampler(kind, classes, d, kind === 'blobs' ? 0.7 : 2, gauss);
    for (let i = 0; i < n; i++) draw(Math.min(classes - 1, Math.floor(uniform() * classes)), data, i * d);
  }
  return { data, n, d };
}
