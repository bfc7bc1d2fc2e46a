import { readJson } from '../jsonObjects.ts';
import type { RunRecord } from '../run/runRecord.ts';
import type { Collected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { listsReuseRefusal, readListsRecord } from './incrementalLists.ts';
import { indexKeys, type VersionIndex } from './versionIndex.ts';

/** Recomputed row ranges listed in report.json at most; the counts are always whole. */
const LISTED_RANGES = 100;

/** report.json `incremental`: what a dataset run took over from the latest version, and what it redid. */
export interface IncrementalReport {
  readonly baseVersion: number;
  /** Shards copied from the base version, and shards this run ingested (new or changed files). */
  readonly shards: { readonly reused: number; readonly ingested: number };
  /** kNN graph methods: whether the base version's lists were reused, and which rows were searched again. */
  readonly lists?: {
    readonly reused: boolean;
    readonly reason?: string;
    /** Rows whose previous list was kept and offered the new rows. */
    readonly updatedRows: number;
    /** Rows searched against all rows (new rows, and old rows one of whose neighbours is gone). */
    readonly recomputedRows: number;
    /** The recomputed rows as [first, end) ranges of row indices (the first 100 ranges). */
    readonly recomputed: [number, number][];
  };
}

export async function incrementalReportOf(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
): Promise<IncrementalReport | undefined> {
  if (run.incremental === undefined) return undefined;
  const { baseVersion, reused } = run.incremental;
  const reusedShards = reused.filter((base) => base >= 0).length;
  const shards = { reused: reusedShards, ingested: reused.length - reusedShards };
  if (run.neighbors === undefined) return { baseVersion, shards };
  const index = await readJson<VersionIndex>(ctx.store, indexKeys.index(run.dataset, baseVersion));
  const reason =
    run.neighbors.mode === 'approx' && !run.incremental.ivf
      ? 'the IVF index was trained anew'
      : listsReuseRefusal(run, collected, index);
  if (reason !== undefined) {
    const all: [number, number][] = collected.n > 0 ? [[0, collected.n]] : [];
    const lists = { reused: false, reason, updatedRows: 0, recomputedRows: collected.n, recomputed: all };
    return { baseVersion, shards, lists };
  }
  let updatedRows = 0;
  let recomputedRows = 0;
  const recomputed: [number, number][] = [];
  for (let s = 0; s < collected.shards.length; s++) {
    const record = await readListsRecord(ctx, run.runId, s);
    updatedRows += record.updated;
    for (const range of record.recomputed) {
      recomputedRows += range[1] - range[0];
      if (recomputed.length < LISTED_RANGES) recomputed.push(range);
    }
  }
  return { baseVersion, shards, lists: { reused: true, updatedRows, recomputedRows, recomputed } };
}
