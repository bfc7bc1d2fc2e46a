/**
 * The median of values held in sorted parts (one per partition) without holding them all: each part gives
 * every SAMPLE_STEP-th value (its sample) and can be read by index range. The samples bound the ranks of the
 * median between two sample values lo and hi; only the values in [lo, hi) are then read from each part (about
 * parts x SAMPLE_STEP values in all), so memory is n / SAMPLE_STEP samples plus those slices, never n.
 * The result is exactly what sorting all values would give: the middle value, or the mean of the two middle
 * values for an even count (the median of medianHeuristicGamma, lib/pipeline/propagation/unreached.ts).
 */

/** One value in this many of a part is in its sample (sample[j] = part[j * SAMPLE_STEP]). */
export const SAMPLE_STEP = 1024;

export interface SortedPart {
  /** How many values the part holds (ascending, no NaN). */
  readonly count: number;
  readonly sample: Float64Array;
  /** Values [from, to) of the part. */
  readSlice(from: number, to: number): Promise<Float64Array>;
}

/** Every SAMPLE_STEP-th value of an ascending array, from the first. */
export function sampleOf(sorted: Float64Array): Float64Array {
  const sample = new Float64Array(Math.ceil(sorted.length / SAMPLE_STEP));
  for (let j = 0; j < sample.length; j++) sample[j] = sorted[j * SAMPLE_STEP];
  return sample;
}

/** Number of values of an ascending array below v. */
function countBelow(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The median of all parts' values, or undefined when they hold none. */
export async function medianOfSortedParts(parts: readonly SortedPart[]): Promise<number | undefined> {
  const total = parts.reduce((sum, part) => sum + part.count, 0);
  if (total === 0) return undefined;
  const first = (total - 1) >> 1;
  const second = total >> 1;
  // Bounds on how many values lie below v, from the samples alone: at most `above`, at least `below`.
  const atMostBelow = (v: number) =>
    parts.reduce((sum, part) => sum + Math.min(part.count, countBelow(part.sample, v) * SAMPLE_STEP), 0);
  const atLeastBelow = (v: number) =>
    parts.reduce((sum, part) => {
      const samples = countBelow(part.sample, v);
      return sum + (samples === 0 ? 0 : (samples - 1) * SAMPLE_STEP + 1);
    }, 0);
  const candidates = Float64Array.from(parts.flatMap((part) => Array.from(part.sample))).sort();
  // lo: the largest sample value with at most `first` values below it (so the first middle value is >= lo);
  // hi: the smallest with more than `second` values below it (so the second middle value is < hi).
  let lo = Number.NEGATIVE_INFINITY;
  let hi = Number.POSITIVE_INFINITY;
  for (let a = 0, b = candidates.length - 1; a <= b; ) {
    const mid = (a + b) >>> 1;
    if (atMostBelow(candidates[mid]) <= first) {
      lo = candidates[mid];
      a = mid + 1;
    } else {
      b = mid - 1;
    }
  }
  for (let a = 0, b = candidates.length - 1; a <= b; ) {
    const mid = (a + b) >>> 1;
    if (atLeastBelow(candidates[mid]) > second) {
      hi = candidates[mid];
      b = mid - 1;
    } else {
      a = mid + 1;
    }
  }
  let below = 0;
  const between: number[] = [];
  for (const part of parts) {
    const samplesBelowLo = countBelow(part.sample, lo);
    const from = Math.max(0, (samplesBelowLo - 1) * SAMPLE_STEP);
    const to = Math.min(part.count, countBelow(part.sample, hi) * SAMPLE_STEP);
    const slice = from < to ? await part.readSlice(from, to) : new Float64Array(0);
    below += from;
    for (const value of slice) {
      if (value < lo) below++;
      else if (value < hi) between.push(value);
    }
  }
  between.sort((a, b) => a - b);
  const x = between[first - below];
  const y = between[second - below];
  if (x === undefined || y === undefined) throw new Error('the median fell outside the bounds of its samples');
  return total % 2 === 1 ? x : (x + y) / 2;
}
