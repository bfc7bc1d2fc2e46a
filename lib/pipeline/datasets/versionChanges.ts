import type { ObjectStore } from '../../adapters/objectStore.ts';
import { readVersionRows } from './versionRows.ts';

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
 * Compares two versions' rows bucket by bucket (at the larger bucket count): memory is one bucket of each side
 * (about ROWS_PER_BUCKET rows, a Map of the previous bucket's rows), whatever the dataset's size.
 */
export async function versionChanges(
  previous: (RowsLocation & { readonly version: number; readonly runId: string }) | undefined,
  current: RowsLocation,
): Promise<VersionChanges> {
  const histogram = new Array<number>(SHIFT_BINS).fill(0);
  const transitions = new Map<string, { from: string | null; to: string | null; rows: number }>();
  let added = 0;
  let kept = 0;
  let changedClass = 0;
  let shiftSum = 0;
  let shiftAbsSum = 0;
  if (previous === undefined) {
    added = current.rows;
  } else {
    const buckets = Math.max(previous.buckets, current.buckets);
    for (let b = 0; b < buckets; b++) {
      const before = new Map<string, readonly [string | null, number]>();
      for (const [id, label, confidence] of await readVersionRows(
        previous.store,
        previous.prefix,
        previous.buckets,
        b,
        buckets,
      )) {
        before.set(id, [label, confidence]);
      }
      for (const [id, label, confidence] of await readVersionRows(
        current.store,
        current.prefix,
        current.buckets,
        b,
        buckets,
      )) {
        const old = before.get(id);
        if (old === undefined) {
          added++;
          continue;
        }
        kept++;
        if (old[0] !== label) {
          changedClass++;
          const key = JSON.stringify([old[0], label]);
          const transition = transitions.get(key) ?? { from: old[0], to: label, rows: 0 };
          transition.rows++;
          transitions.set(key, transition);
        }
        const shift = confidence - old[1];
        shiftSum += shift;
        shiftAbsSum += Math.abs(shift);
        histogram[Math.min(SHIFT_BINS - 1, Math.max(0, Math.floor(((shift + 1) / 2) * SHIFT_BINS)))]++;
      }
    }
  }
  return {
    ...(previous ? { previousVersion: previous.version, previousRunId: previous.runId } : {}),
    rows: current.rows,
    previousRows: previous?.rows ?? 0,
    added,
    removed: (previous?.rows ?? 0) - kept,
    changedClass,
    transitions: [...transitions.values()].sort((a, b) => b.rows - a.rows).slice(0, MAX_TRANSITIONS),
    confidenceShift: {
      mean: kept > 0 ? shiftSum / kept : 0,
      meanAbsolute: kept > 0 ? shiftAbsSum / kept : 0,
      histogram,
    },
  };
}
