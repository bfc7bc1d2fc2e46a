import { readJson, writeJson } from '../jsonObjects.ts';
import type { RunRecord } from '../run/runRecord.ts';
import type { Collected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { Stage } from '../taskMessage.ts';
import { datasetKeys, type LatestVersion, readLatest, readVersion, type VersionRecord } from './datasetVersions.ts';
import {
  bucketPairing,
  type ChangeTally,
  compareBuckets,
  emptyTally,
  mergeChanges,
  type RowsLocation,
  type VersionChanges,
} from './versionChanges.ts';
import { bucketCount, joinShardRows } from './versionRows.ts';

/**
 * A run that publishes a dataset version compares its rows with the version it builds on in a stage of its own
 * (issue 19's change report), so that no task reads every row of both versions: after the outcome's shard tasks
 * (output, result or outcome) have written their rows by bucket, the `version` step fixes the base and fans out
 * `compare` tasks; each joins its share of the run's buckets (the shards' parts) and compares them with the
 * base's, and finalize adds up their tallies (mergeChanges). At 1.1M rows finalize compared 16 bucket pairs in
 * 0.8 s on one core; the compare tasks share them out.
 */

/** The step after the outcome's shard tasks: `version` in a run that publishes a version, else finalize. */
export function afterOutcome(run: Pick<RunRecord, 'versioned'>): Stage {
  return run.versioned ? 'version' : 'finalize';
}

/**
 * version step: fixes the version the run compares against: latest.json now, put-if-absent, so that a redelivered
 * step keeps the first choice. The compare tasks and finalize read it (comparedRows).
 */
export async function fixBase(ctx: StageContext, run: RunRecord): Promise<void> {
  const latest = await readLatest(ctx.store, run.dataset);
  await ctx.store.putIfAbsent(datasetKeys.base(run.runId), JSON.stringify({ base: latest ?? null }));
}

/** The run's base version (fixBase), the run's rows (staged for its version) and the base's rows. */
export interface ComparedRows {
  readonly base?: LatestVersion;
  readonly current: RowsLocation;
  readonly previous?: RowsLocation & { readonly version: number; readonly runId: string };
}

export async function comparedRows(ctx: StageContext, run: RunRecord, collected: Collected): Promise<ComparedRows> {
  const fixed = await readJson<{ base: LatestVersion | null }>(ctx.store, datasetKeys.base(run.runId));
  const base = fixed.base ?? undefined;
  const current = {
    store: ctx.store,
    prefix: datasetKeys.rows(run.runId),
    buckets: bucketCount(collected.n),
    rows: collected.n,
  };
  if (base === undefined) return { current };
  const record: VersionRecord = await readVersion(ctx.store, run.dataset, base.version);
  const previous = {
    store: ctx.store,
    prefix: datasetKeys.versionFile(run.dataset, record.version, 'rows/'),
    buckets: record.buckets,
    rows: record.rows,
    version: record.version,
    runId: record.runId,
  };
  return { base, current, previous };
}

/**
 * How many compare tasks: one per bucket of the side with fewer buckets, at most one per shard (a task then
 * compares every t-th bucket pair).
 */
export function compareTaskCount({ current, previous }: ComparedRows, shards: number): number {
  return Math.max(1, Math.min(bucketPairing(previous, current).fewer, shards));
}

const tallyKey = (runId: string, task: number) => `runs/${runId}/version/changes/${String(task).padStart(5, '0')}.json`;

/**
 * compare task `task` of `tasks`: joins the run's buckets that pair with buckets task, task + tasks, ... of the
 * fewer side, compares them with the base's and writes the tally.
 */
export async function compareShare(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
  rows: ComparedRows,
  task: number,
  tasks: number,
): Promise<void> {
  const { current, previous } = rows;
  const pairing = bucketPairing(previous, current);
  const mine = Array.from({ length: pairing.fewer }, (_, s) => s).filter((s) => s % tasks === task);
  await joinShardRows(
    ctx.store,
    run.runId,
    current.prefix,
    mine.flatMap(pairing.currentBuckets),
    collected.shards.length,
  );
  // A first version compares nothing: mergeChanges counts every row as added.
  const tally = previous ? await compareBuckets(previous, current, mine) : emptyTally();
  await writeJson(ctx.store, tallyKey(run.runId, task), tally);
}

/** finalize: the base and the changes of the run's version, from the compare tasks' tallies in task order. */
export async function readChanges(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
): Promise<{ base?: LatestVersion; changes: VersionChanges }> {
  const rows = await comparedRows(ctx, run, collected);
  const tallies: ChangeTally[] = [];
  for (let t = 0; t < compareTaskCount(rows, collected.shards.length); t++) {
    tallies.push(await readJson<ChangeTally>(ctx.store, tallyKey(run.runId, t)));
  }
  const changes = mergeChanges(rows.previous, rows.current, tallies);
  return { ...(rows.base ? { base: rows.base } : {}), changes };
}
