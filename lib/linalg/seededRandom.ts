/**
 * Seeded randomness, identical on every machine and shard layout (IVF samples, k-means, holdout, folds):
 * - `hashUniform(seed, index)`: a uniform number in [0, 1) that depends only on (seed, index), so a shard can
 *   decide alone whether its row with a given global index belongs to a sample. The mixer is the
 *   "lowbias32" integer hash (Chris Wellons, "Prospecting for hash functions", 2018), applied twice.
 * - `seededUniform(seed)`: a stream of uniform numbers in [0, 1), mulberry32 (Tommy Ettinger, 2017).
 */

function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Uniform in [0, 1), a pure function of (seed, index). */
export function hashUniform(seed: number, index: number): number {
  return lowbias32(lowbias32(index >>> 0) ^ lowbias32((seed ^ 0x9e3779b9) >>> 0)) / 4294967296;
}

/** A uniform [0, 1) generator seeded with a 32-bit integer. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
