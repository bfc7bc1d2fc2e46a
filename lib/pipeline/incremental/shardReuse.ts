import { NotFoundError } from '../../adapters/errors.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import type { RunRecord } from '../run/runRecord.ts';
import type { ShardSpec } from '../shards/shardPlan.ts';
import type { StageContext } from '../stageContext.ts';
import { indexKeys, objectsAt, readLatestIndex, sameFile, type VersionIndex } from './versionIndex.ts';

/**
 * run.json `incremental`: what a dataset run takes over from the dataset's latest version (set by the plan step).
 * `reused[s]` is the base version's shard that shard s is a copy of (-1: ingested by this run).
 */
export interface IncrementalRun {
  readonly baseVersion: number;
  readonly baseRunId: string;
  readonly reused: number[];
  /** Set by collect when the run keeps the base's IVF index (incrementalIvf.ts). */
  readonly ivf?: boolean;
}

/** The files of the run whose shards can be taken from the latest version: input index -> that version's specs. */
export interface ShardReuse {
  readonly baseVersion: number;
  readonly index: VersionIndex;
  readonly files: Map<number, ShardSpec[]>;
}

/**
 * Which of a dataset run's files were ingested by the latest version's run, unchanged: same key, ETag and size
 * under the same input root, read with the same label, id and feature columns (the shard bytes would be the
 * same). Undefined for runs that publish no version, or when nothing can be reused.
 */
export async function findShardReuse(
  ctx: StageContext,
  run: RunRecord,
  featureNames: readonly string[],
): Promise<ShardReuse | undefined> {
  if (!run.versioned) return undefined;
  const latest = await readLatestIndex(ctx.store, run.dataset);
  if (latest === undefined) return undefined;
  const { index } = latest;
  const sameReading =
    index.inputRoot === run.inputRoot &&
    index.labelColumn === run.options.labelColumn &&
    index.idColumn === run.options.idColumn &&
    index.featureNames.join('\u0000') === featureNames.join('\u0000');
  if (!sameReading) return undefined;
  const files = new Map<number, ShardSpec[]>();
  run.inputs.forEach((input, f) => {
    const old = index.inputs.find((candidate) => sameFile(candidate, input));
    if (old)
      files.set(
        f,
        old.shards.map((s) => index.shards[s].spec),
      );
  });
  return files.size === 0 ? undefined : { baseVersion: latest.version, index, files };
}

/** The reuse record of a planned run: which of its shards are copies of which base shards. */
export function incrementalRun(reuse: ShardReuse, shards: readonly ShardSpec[], origins: number[]): IncrementalRun {
  return {
    baseVersion: reuse.baseVersion,
    baseRunId: reuse.index.runId,
    reused: shards.map((spec) => origins[spec.shard] ?? -1),
  };
}

/**
 * The ingest task of a reused shard: copies the base version's shard, refused rows and summary into the run
 * (server-side on S3) instead of reading the file again. Returns its rows and refused rows for the completion
 * marker, and whether the summary was copied (a version made before summaries were kept has none), or undefined
 * when the shard is not reused (it is ingested as usual).
 */
export async function copyReusedShard(
  ctx: StageContext,
  run: RunRecord,
  shard: number,
): Promise<{ rows: number; rejected: number; summary: boolean } | undefined> {
  const base = run.incremental?.reused[shard] ?? -1;
  if (run.incremental === undefined || base < 0) return undefined;
  const { baseVersion } = run.incremental;
  const index = await readJson<VersionIndex>(ctx.store, indexKeys.index(run.dataset, baseVersion));
  const at = objectsAt(index, baseVersion, base, 'ingest');
  await ctx.store.concatenate(keys.shardData(run.runId, shard), [
    indexKeys.shardData(run.dataset, at.version, at.shard),
  ]);
  await ctx.store.concatenate(keys.shardRejected(run.runId, shard), [
    indexKeys.shardRejected(run.dataset, at.version, at.shard),
  ]);
  const summary = await ctx.store
    .concatenate(keys.shardSummary(run.runId, shard), [indexKeys.shardSummary(run.dataset, at.version, at.shard)])
    .then(
      () => true,
      (error: unknown) => {
        if (error instanceof NotFoundError) return false;
        throw error;
      },
    );
  return { rows: index.shards[base].ingested, rejected: index.shards[base].rejected, summary };
}
