import type { ObjectStore } from '../../adapters/objectStore.ts';
import { type ScannedRows, scanVersionBucket } from './scannedRows.ts';

/** Bins of the confidence shift histogram, over [-1, 1]. */
export const SHIFT_BINS = 20;
/** report.json lists at most this many class transitions (the largest). */
const MAX_TRANSITIONS = 50;

/**
 * report.json `changes`: what a version changed against the previous one of its dataset. Rows are matched by id.
 * `changedClass` counts rows present in both whose label differs (a label gained or lost counts too);
 * `confidenceShift` is the histogram of (confidence now - confidence before) over the rows present in both.
 */
export interface VersionChanges {
  /** The version compared against (undefined: the dataset's first version, every row is added). */
  readonly previousVersion?: number;
  readonly previousRunId?: string;
  readonly rows: number;
  readonly previousRows: number;
  readonly added: number;
  readonly removed: number;
  readonly changedClass: number;
  /** Rows that changed class, by (before, after); null is no label. The largest MAX_TRANSITIONS pairs. */
  readonly transitions: { readonly from: string | null; readonly to: string | null; readonly rows: number }[];
  readonly confidenceShift: {
    readonly mean: number;
    readonly meanAbsolute: number;
    /** SHIFT_BINS bins over [-1, 1]: bin i counts shifts in [-1 + i/10, -1 + (i+1)/10) (the last closed). */
    readonly histogram: number[];
  };
}

/** Where a version's rows live and how many buckets they span (versionRows.ts). */
export interface RowsLocation {
  readonly store: ObjectStore;
  readonly prefix: string;
  readonly buckets: number;
  readonly rows: number;
}

/**
 * What comparing some buckets found (compareBuckets): sums, so that the parts of several compare tasks add up
 * (mergeChanges) to the comparison of every bucket.
 */
export interface ChangeTally {
  readonly added: number;
  readonly kept: number;
  readonly changedClass: number;
  readonly shiftSum: number;
  readonly shiftAbsSum: number;
  readonly histogram: number[];
  readonly transitions: { readonly from: string | null; readonly to: string | null; readonly rows: number }[];
}

export function emptyTally(): ChangeTally {
  const histogram = new Array<number>(SHIFT_BINS).fill(0);
  return { added: 0, kept: 0, changedClass: 0, shiftSum: 0, shiftAbsSum: 0, histogram, transitions: [] };
}

/** Running totals of a comparison. */
class RunningTally {
  readonly histogram = new Array<number>(SHIFT_BINS).fill(0);
  readonly transitions = new Map<string, { from: string | null; to: string | null; rows: number }>();
  added = 0;
  kept = 0;
  changedClass = 0;
  shiftSum = 0;
  shiftAbsSum = 0;

  /** A row present in both versions: `before` row i against `now` row j. */
  keep(before: ScannedRows, i: number, now: ScannedRows, j: number): void {
    this.kept++;
    if (!before.sameLabel(i, now, j)) {
      this.changedClass++;
      const key = `${before.label(i)},${now.label(j)}`;
      const transition = this.transitions.get(key) ?? {
        from: JSON.parse(before.label(i)) as string | null,
        to: JSON.parse(now.label(j)) as string | null,
        rows: 0,
      };
      transition.rows++;
      this.transitions.set(key, transition);
    }
    const shift = now.confidences[j] - before.confidences[i];
    this.shiftSum += shift;
    this.shiftAbsSum += Math.abs(shift);
    this.histogram[Math.min(SHIFT_BINS - 1, Math.max(0, Math.floor(((shift + 1) / 2) * SHIFT_BINS)))]++;
  }

  /**
   * Matches the rows of `before` (indices `beforeRows`) with those of `now` (indices `nowRows`), both in their
   * version's order. A run that reuses shards keeps their rows in order, so most rows pair off by walking both
   * lists at once; the rest are matched by id through a map.
   */
  compare(before: ScannedRows, beforeRows: Iterable<number>, now: ScannedRows, nowRows: readonly number[]): void {
    let at = 0;
    const unmatched = new Map<string, number>();
    for (const i of beforeRows) {
      if (at < nowRows.length && now.sameId(nowRows[at], before, i)) this.keep(before, i, now, nowRows[at++]);
      else unmatched.set(before.id(i), i);
    }
    for (; at < nowRows.length; at++) {
      const j = nowRows[at];
      const i = unmatched.get(now.id(j));
      if (i === undefined) this.added++;
      else this.keep(before, i, now, j);
    }
  }

  result(): ChangeTally {
    const { added, kept, changedClass, shiftSum, shiftAbsSum, histogram } = this;
    return { added, kept, changedClass, shiftSum, shiftAbsSum, histogram, transitions: [...this.transitions.values()] };
  }
}

/** The rows of `rows` by the hash bits above the lowest `below` buckets' (`parts` parts), each in order. */
function splitByHash(rows: ScannedRows, below: number, parts: number): number[][] {
  const split = Array.from({ length: parts }, () => [] as number[]);
  for (let i = 0; i < rows.n; i++) split[Math.floor((rows.hashes[i] & (below * parts - 1)) / below)].push(i);
  return split;
}

/**
 * How two versions' buckets pair up. Bucket s of the version with fewer buckets (`fewer` of them) holds exactly
 * the rows of buckets s, s + fewer, s + 2 fewer, ... (`parts` of them) of the other, so the comparison goes by
 * the fewer side's buckets. Without a previous version, the current one's buckets, one part each.
 */
export function bucketPairing(previous: { buckets: number } | undefined, current: { buckets: number }) {
  const fewer = Math.min(previous?.buckets ?? current.buckets, current.buckets);
  const parts = Math.max(previous?.buckets ?? current.buckets, current.buckets) / fewer;
  /** The current version's buckets that bucket s of the fewer side pairs with. */
  const currentBuckets = (s: number) =>
    current.buckets === fewer ? [s] : Array.from({ length: parts }, (_, p) => s + p * fewer);
  return { fewer, parts, currentBuckets };
}

/**
 * Compares two versions' rows over buckets `buckets` of the side with fewer buckets (bucketPairing), each read
 * and scanned once: memory is one bucket of each version (about ROWS_PER_BUCKET rows each, and the larger
 * side's bucket split in parts), whatever the dataset's size.
 */
export async function compareBuckets(
  previous: RowsLocation,
  current: RowsLocation,
  buckets: readonly number[],
): Promise<ChangeTally> {
  const tally = new RunningTally();
  const { fewer, parts } = bucketPairing(previous, current);
  const previousFewer = previous.buckets === fewer;
  const [small, large] = previousFewer ? [previous, current] : [current, previous];
  for (const s of buckets) {
    const smallRows = await scanVersionBucket(small.store, small.prefix, s);
    const split = splitByHash(smallRows, fewer, parts);
    for (let p = 0; p < parts; p++) {
      const largeRows = await scanVersionBucket(large.store, large.prefix, s + p * fewer);
      const all = Array.from({ length: largeRows.n }, (_, i) => i);
      if (previousFewer) tally.compare(smallRows, split[p], largeRows, all);
      else tally.compare(largeRows, all, smallRows, split[p]);
    }
  }
  return tally.result();
}

/**
 * The changes of the current version against the previous one from the tallies of its buckets, added in the
 * given order (compare tasks in task order: the same sums on every run).
 */
export function mergeChanges(
  previous: { readonly version: number; readonly runId: string; readonly rows: number } | undefined,
  current: { readonly rows: number },
  tallies: readonly ChangeTally[],
): VersionChanges {
  const histogram = new Array<number>(SHIFT_BINS).fill(0);
  const transitions = new Map<string, { from: string | null; to: string | null; rows: number }>();
  let [added, kept, changedClass, shiftSum, shiftAbsSum] = [0, 0, 0, 0, 0];
  for (const tally of tallies) {
    added += tally.added;
    kept += tally.kept;
    changedClass += tally.changedClass;
    shiftSum += tally.shiftSum;
    shiftAbsSum += tally.shiftAbsSum;
    tally.histogram.forEach((count, bin) => {
      histogram[bin] += count;
    });
    for (const { from, to, rows } of tally.transitions) {
      const key = JSON.stringify([from, to]);
      const transition = transitions.get(key) ?? { from, to, rows: 0 };
      transition.rows += rows;
      transitions.set(key, transition);
    }
  }
  if (previous === undefined) added = current.rows;
  return {
    ...(previous ? { previousVersion: previous.version, previousRunId: previous.runId } : {}),
    rows: current.rows,
    previousRows: previous?.rows ?? 0,
    added,
    removed: (previous?.rows ?? 0) - kept,
    changedClass,
    // Largest first, ties by their key: the same list whatever the number of compare tasks.
    transitions: [...transitions.entries()]
      .sort(([keyA, a], [keyB, b]) => b.rows - a.rows || (keyA < keyB ? -1 : keyA > keyB ? 1 : 0))
      .slice(0, MAX_TRANSITIONS)
      .map(([, transition]) => transition),
    confidenceShift: {
      mean: kept > 0 ? shiftSum / kept : 0,
      meanAbsolute: kept > 0 ? shiftAbsSum / kept : 0,
      histogram,
    },
  };
}

/** Compares two versions' rows, every bucket in one process (compareBuckets, mergeChanges). */
export async function versionChanges(
  previous: (RowsLocation & { readonly version: number; readonly runId: string }) | undefined,
  current: RowsLocation,
): Promise<VersionChanges> {
  if (previous === undefined) return mergeChanges(undefined, current, []);
  const { fewer } = bucketPairing(previous, current);
  const all = Array.from({ length: fewer }, (_, s) => s);
  return mergeChanges(previous, current, [await compareBuckets(previous, current, all)]);
}
