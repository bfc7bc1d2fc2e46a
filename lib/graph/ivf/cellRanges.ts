import { checkModel, type IvfModel } from './ivfModel.ts';

/**
 * Cell ranges: the IVF cells split into groups of nearby cells, each holding about the same number of rows, so
 * that a distributed search can store and fetch the members of a group together (the cells task writes one
 * object per range and shard; a neighbors task searches the queries of one range and reads only the ranges its
 * queries probe). A query probes the cells nearest to it, which are mostly its own cell's neighbours: when
 * nearby centroids share a range, a range's queries probe few other ranges.
 *
 * Nearby centroids are made to share a range by the order of a principal-direction tree over the centroids
 * (a PCA tree, as in Sproull 1991 / Verma, Kpotufe & Dasgupta 2009: a k-d tree split on the leading principal
 * direction instead of a coordinate, which follows data of low intrinsic dimension in any basis), each split
 * at the widest gap of the projections (1-D 2-means) rather than the median, so that clusters of cells stay
 * together: cells close in this order lie in one small region. Ranges are then runs of that order, cut where the estimated rows
 * reach each range's share. Which cells share a range changes only what is read together, never a result.
 */

/** Each cell's range (nlist values, ranges numbered 0 .. count - 1, each holding at least one cell). */
export interface CellRanges {
  readonly count: number;
  readonly rangeOf: Int32Array;
}

/** Power iterations for a segment's principal direction: enough to tell its main spread from the rest. */
const POWER_ITERATIONS = 12;

/**
 * The centroids' order along a principal-direction tree: the cells are sorted by their projections on the
 * direction their centroids spread most (the leading principal component, by power iteration) and split at
 * the widest gap, each side again, and so on; the leaves in tree order.
 */
export function localityOrder(model: IvfModel): Int32Array {
  checkModel(model);
  const { nlist, d, centroids } = model;
  const order = Int32Array.from({ length: nlist }, (_, c) => c);
  const mean = new Float64Array(d);
  const direction = new Float64Array(d);
  const next = new Float64Array(d);
  const projection = new Float64Array(nlist);
  const segments: [number, number][] = [[0, nlist]];
  for (let segment = segments.pop(); segment !== undefined; segment = segments.pop()) {
    const [from, to] = segment;
    if (to - from < 2) continue;
    mean.fill(0);
    for (let i = from; i < to; i++) {
      const row = order[i] * d;
      for (let t = 0; t < d; t++) mean[t] += centroids[row + t];
    }
    for (let t = 0; t < d; t++) mean[t] /= to - from;
    // Start from the direction of the farthest centroid from the mean (deterministic, never orthogonal to all).
    let far = -1;
    for (let i = from; i < to; i++) {
      const row = order[i] * d;
      let norm = 0;
      for (let t = 0; t < d; t++) norm += (centroids[row + t] - mean[t]) ** 2;
      if (norm > far) {
        far = norm;
        for (let t = 0; t < d; t++) direction[t] = centroids[row + t] - mean[t];
      }
    }
    for (let iteration = 0; iteration < POWER_ITERATIONS; iteration++) {
      next.fill(0);
      for (let i = from; i < to; i++) {
        const row = order[i] * d;
        let dot = 0;
        for (let t = 0; t < d; t++) dot += (centroids[row + t] - mean[t]) * direction[t];
        for (let t = 0; t < d; t++) next[t] += dot * (centroids[row + t] - mean[t]);
      }
      let norm = 0;
      for (let t = 0; t < d; t++) norm += next[t] * next[t];
      if (!(norm > 0)) break;
      const scale = 1 / Math.sqrt(norm);
      for (let t = 0; t < d; t++) direction[t] = next[t] * scale;
    }
    for (let i = from; i < to; i++) {
      const row = order[i] * d;
      let dot = 0;
      for (let t = 0; t < d; t++) dot += centroids[row + t] * direction[t];
      projection[order[i]] = dot;
    }
    const sorted = Array.from(order.subarray(from, to)).sort((a, b) => projection[a] - projection[b] || a - b);
    order.set(sorted, from);
    const split = from + gapSplit(sorted.map((cell) => projection[cell]));
    segments.push([split, to], [from, split]);
  }
  return order;
}

/**
 * Where to cut ascending values in two (1 .. length - 1): the cut with the least sum of squared deviations from
 * the two sides' means (Otsu's threshold; 2-means in one dimension), which falls in the widest gap between
 * groups, so that clusters of cells stay on one side.
 */
function gapSplit(values: readonly number[]): number {
  const m = values.length;
  let total = 0;
  for (const value of values) total += value;
  let best = 1;
  let bestScore = Number.NEGATIVE_INFINITY;
  let left = 0;
  for (let i = 1; i < m; i++) {
    left += values[i - 1];
    // Minimising the within-sides sum of squares is maximising i (m - i) (mean_left - mean_right)^2 / m.
    const gap = left / i - (total - left) / (m - i);
    const score = i * (m - i) * gap * gap;
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

/**
 * About `count` ranges (fewer when there are fewer cells, or when large cells fill a range's share alone) of
 * about equal estimated rows: runs of the locality order cut where the running total of `sizes` (the rows, or
 * sample rows, of each cell) passes each range's share of the total.
 */
export function cellRanges(model: IvfModel, sizes: Int32Array, count: number): CellRanges {
  const { nlist } = model;
  if (sizes.length !== nlist) throw new RangeError(`${sizes.length} cell sizes for ${nlist} cells`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`range count must be an integer >= 1, got ${count}`);
  const order = localityOrder(model);
  let total = 0;
  for (let c = 0; c < nlist; c++) total += sizes[c];
  const rangeOf = new Int32Array(nlist);
  let range = 0;
  let running = 0;
  for (let o = 0; o < nlist; o++) {
    const cell = order[o];
    rangeOf[cell] = range;
    running += sizes[cell];
    // Each range ends once the total passes its share; the last takes the rest.
    if (running >= (total * (range + 1)) / count && range < count - 1 && o < nlist - 1) range++;
  }
  return { count: range + 1, rangeOf };
}

/** The cells of every range, ascending within each: range r's are cells[starts[r] .. starts[r + 1]). */
export interface RangeCells {
  readonly starts: Int32Array;
  readonly cells: Int32Array;
}

export function rangeCells({ count, rangeOf }: CellRanges): RangeCells {
  const starts = new Int32Array(count + 1);
  for (let c = 0; c < rangeOf.length; c++) {
    const range = rangeOf[c];
    if (!(range >= 0 && range < count)) throw new RangeError(`cell ${c} is in range ${range}, outside [0, ${count})`);
    starts[range + 1]++;
  }
  for (let r = 0; r < count; r++) starts[r + 1] += starts[r];
  const fill = starts.slice(0, count);
  const cells = new Int32Array(rangeOf.length);
  for (let c = 0; c < rangeOf.length; c++) cells[fill[rangeOf[c]]++] = c;
  return { starts, cells };
}

/** The ranges holding the given cells (-1 = none, as in probe lists): ascending, without repeats. */
export function rangesOfCells(cells: Int32Array, { count, rangeOf }: CellRanges): Int32Array {
  const seen = new Uint8Array(count);
  for (let i = 0; i < cells.length; i++) if (cells[i] >= 0) seen[rangeOf[cells[i]]] = 1;
  const out: number[] = [];
  for (let r = 0; r < count; r++) if (seen[r] === 1) out.push(r);
  return Int32Array.from(out);
}
