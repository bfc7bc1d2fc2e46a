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

/** Running totals of a comparison. */
class ChangeTally {
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
}

/** The rows of `rows` by the hash bits above the lowest `below` buckets' (`parts` parts), each in order. */
function splitByHash(rows: ScannedRows, below: number, parts: number): number[][] {
  const split = Array.from({ length: parts }, () => [] as number[]);
  for (let i = 0; i < rows.n; i++) split[Math.floor((rows.hashes[i] & (below * parts - 1)) / below)].push(i);
  return split;
}

/**
 * Compares two versions' rows bucket by bucket. Bucket s of the version with fewer buckets holds exactly the
 * rows of buckets s, s + S, s + 2S, ... of the other (S the smaller count), so each bucket is read and scanned
 * once: memory is one bucket of each version (about ROWS_PER_BUCKET rows each, and the larger side's bucket
 * split in parts), whatever the dataset's size.
 */
export async function versionChanges(
  previous: (RowsLocation & { readonly version: number; readonly runId: string }) | undefined,
  current: RowsLocation,
): Promise<VersionChanges> {
  const tally = new ChangeTally();
  if (previous === undefined) {
    tally.added = current.rows;
  } else {
    const fewer = Math.min(previous.buckets, current.buckets);
    const parts = Math.max(previous.buckets, current.buckets) / fewer;
    const previousFewer = previous.buckets === fewer;
    for (let s = 0; s < fewer; s++) {
      const small = await scanVersionBucket(
        (previousFewer ? previous : current).store,
        (previousFewer ? previous : current).prefix,
        s,
      );
      const split = splitByHash(small, fewer, parts);
      for (let p = 0; p < parts; p++) {
        const large = await scanVersionBucket(
          (previousFewer ? current : previous).store,
          (previousFewer ? current : previous).prefix,
          s + p * fewer,
        );
        const all = Array.from({ length: large.n }, (_, i) => i);
        if (previousFewer) tally.compare(small, split[p], large, all);
        else tally.compare(large, all, small, split[p]);
      }
    }
  }
  const { kept } = tally;
  return {
    ...(previous ? { previousVersion: previous.version, previousRunId: previous.runId } : {}),
    rows: current.rows,
    previousRows: previous?.rows ?? 0,
    added: tally.added,
    removed: (previous?.rows ?? 0) - kept,
    changedClass: tally.changedClass,
    transitions: [...tally.transitions.values()].sort((a, b) => b.rows - a.rows).slice(0, MAX_TRANSITIONS),
    confidenceShift: {
      mean: kept > 0 ? tally.shiftSum / kept : 0,
      meanAbsolute: kept > 0 ? tally.shiftAbsSum / kept : 0,
      histogram: tally.histogram,
    },
  };
}
