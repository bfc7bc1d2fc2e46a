import { type FeatureMatrix, featureMatrix } from '../../data/featureMatrix.ts';
import { distanceTiles } from '../../linalg/distanceTiles.ts';
import { dotSquaredDistance } from '../../linalg/dotDistances.ts';
import { seededUniform } from '../../linalg/seededRandom.ts';
import { emptyKnnResult, type KnnResult, knnSearch } from '../knnSearch.ts';

/**
 * k-means for the coarse quantiser of an IVF index: k-means++ seeding (Arthur & Vassilvitskii, "k-means++:
 * the advantages of careful seeding", SODA 2007) on a seeded subsample, then Lloyd iterations (Lloyd 1982) on
 * all rows given. Distances come from the Float32 dot-product kernel ('wasm', bit-identical to 'dot'), the
 * nearest centroid of a row is the first by (distance, centroid index), and sums are accumulated in double
 * in row order: the same rows and seed give the same centroids on every machine.
 *
 * An empty cluster is re-seeded on the row farthest from its centroid (ties: lower row), taken from a
 * cluster of two or more rows, as in FAISS's Clustering (which splits a large cluster instead).
 */
export interface KMeansOptions {
  readonly nClusters: number;
  /** Seed of the k-means++ draws. Default 0. */
  readonly seed?: number;
  /** Lloyd iterations at most. Default 10 (FAISS's long-time default for IVF training). */
  readonly maxIter?: number;
  /** Rows used for k-means++ seeding (its cost is nClusters x rows). Default min(n, 16 * nClusters). */
  readonly initRows?: number;
}

export interface KMeansResult {
  /** nClusters x d, row-major. */
  readonly centroids: Float32Array;
  readonly nClusters: number;
  readonly d: number;
  /** Lloyd iterations run. */
  readonly nIter: number;
  /** True when the last iteration changed no assignment. */
  readonly converged: boolean;
  /** Sum of squared distances of rows to their centroid, at the last assignment. */
  readonly inertia: number;
  /** Rows of each cluster at the last assignment. */
  readonly sizes: Int32Array;
}

export function kmeans(X: FeatureMatrix, options: KMeansOptions): KMeansResult {
  const { nClusters, seed = 0, maxIter = 10 } = options;
  const { n, d } = X;
  if (!Number.isInteger(nClusters) || nClusters < 1) {
    throw new RangeError(`nClusters must be an integer >= 1, got ${nClusters}`);
  }
  if (nClusters > n) throw new RangeError(`cannot make ${nClusters} clusters of ${n} rows`);
  if (!Number.isInteger(maxIter) || maxIter < 0)
    throw new RangeError(`maxIter must be an integer >= 0, got ${maxIter}`);
  const initRows = Math.min(n, options.initRows ?? 16 * nClusters);
  if (!Number.isInteger(initRows) || initRows < nClusters) {
    throw new RangeError(`initRows must be an integer >= nClusters (${nClusters}), got ${options.initRows}`);
  }
  const random = seededUniform(seed);
  const centroids = kmeansPlusPlus(X, nClusters, initRows, random);
  const C = featureMatrix(centroids, nClusters, d);
  const assignment = new Int32Array(n).fill(-1);
  const sums = new Float64Array(nClusters * d);
  const counts = new Int32Array(nClusters);
  let nIter = 0;
  let converged = false;
  let inertia = Number.NaN;
  for (let iter = 0; iter < maxIter; iter++) {
    // From the second iteration, each row's list starts with its previous centroid (the same pair the search
    // would offer, so the same result): its distance is a tight bound, and the candidate filter of knnSearch
    // (candidateTiles.ts) then skips the centroids that cannot be nearer, as Elkan's bounds do.
    const nearest = knnSearch(X, C, 1, { kernel: 'wasm', into: iter === 0 ? undefined : previous(X, C, assignment) });
    let changed = 0;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      if (nearest.indices[i] !== assignment[i]) changed++;
      assignment[i] = nearest.indices[i];
      inertia += nearest.distances[i];
    }
    nIter++;
    if (changed === 0) {
      converged = true;
      break;
    }
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignment[i];
      counts[c]++;
      const row = i * d;
      const out = c * d;
      for (let t = 0; t < d; t++) sums[out + t] += X.data[row + t];
    }
    reseedEmpty(X, assignment, nearest.distances, counts, sums);
    for (let c = 0; c < nClusters; c++) {
      if (counts[c] === 0) continue;
      const inv = 1 / counts[c];
      for (let t = 0; t < d; t++) centroids[c * d + t] = sums[c * d + t] * inv;
    }
  }
  const sizes = new Int32Array(nClusters);
  for (let i = 0; i < n; i++) if (assignment[i] >= 0) sizes[assignment[i]]++;
  return { centroids, nClusters, d, nIter, converged, inertia, sizes };
}

/** k-means++ seeding over the first `rows` rows of a seeded shuffle of X: each next centre drawn with
 * probability proportional to its squared distance to the nearest centre chosen so far. */
function kmeansPlusPlus(X: FeatureMatrix, nClusters: number, rows: number, random: () => number): Float32Array {
  const { n, d } = X;
  // Partial Fisher-Yates: the first `rows` entries of `order` are a uniform sample without replacement.
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 0; i < rows; i++) {
    const j = i + Math.floor(random() * (n - i));
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  const sample = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) sample.set(X.data.subarray(order[i] * d, order[i] * d + d), i * d);
  const tiles = distanceTiles('wasm', d, 1, rows);
  tiles.setReference(sample, 0, rows);
  const nearest = new Float64Array(rows).fill(Number.POSITIVE_INFINITY);
  const centroids = new Float32Array(nClusters * d);
  let chosen = Math.floor(random() * rows);
  for (let c = 0; c < nClusters; c++) {
    centroids.set(sample.subarray(chosen * d, chosen * d + d), c * d);
    if (c === nClusters - 1) break;
    tiles.setQuery(sample, chosen, chosen + 1);
    tiles.compute();
    const { tile } = tiles;
    let total = 0;
    for (let j = 0; j < rows; j++) {
      if (tile[j] < nearest[j]) nearest[j] = tile[j];
      total += nearest[j];
    }
    chosen = drawProportional(nearest, total, random);
  }
  return centroids;
}

/** Index j drawn with probability weights[j] / total (the first positive weight when total is 0). */
function drawProportional(weights: Float64Array, total: number, random: () => number): number {
  if (!(total > 0)) {
    // Every row sits on a centre (fewer distinct rows than clusters): any row is as good.
    return Math.floor(random() * weights.length);
  }
  const target = random() * total;
  let acc = 0;
  let last = 0;
  for (let j = 0; j < weights.length; j++) {
    if (weights[j] <= 0) continue;
    acc += weights[j];
    last = j;
    if (acc > target) return j;
  }
  return last;
}

/** Moves each empty cluster onto the farthest row of a cluster with two or more rows (updating sums). */
function reseedEmpty(
  X: FeatureMatrix,
  assignment: Int32Array,
  distances: Float64Array,
  counts: Int32Array,
  sums: Float64Array,
): void {
  const { n, d } = X;
  for (let empty = 0; empty < counts.length; empty++) {
    if (counts[empty] !== 0) continue;
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (counts[assignment[i]] < 2) continue;
      if (best < 0 || distances[i] > distances[best]) best = i;
    }
    if (best < 0) return; // fewer distinct rows than clusters
    const from = assignment[best];
    const row = best * d;
    for (let t = 0; t < d; t++) {
      const x = X.data[row + t];
      sums[from * d + t] -= x;
      sums[empty * d + t] = x;
    }
    counts[from]--;
    counts[empty] = 1;
    assignment[best] = empty;
    distances[best] = 0;
  }
}

/** Lists of one entry: each row with its assigned centroid, at the 'wasm' kernel's distance. */
function previous(X: FeatureMatrix, C: FeatureMatrix, assignment: Int32Array): KnnResult {
  const result = emptyKnnResult(X.n, 1);
  for (let i = 0; i < X.n; i++) {
    result.indices[i] = assignment[i];
    result.distances[i] = dotSquaredDistance(X.data, i, C.data, assignment[i], X.d);
  }
  return result;
}
