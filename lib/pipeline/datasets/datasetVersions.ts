import { NotFoundError } from '../../adapters/errors.ts';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import { scalesFeatures } from '../../data/featureScaling.ts';
import { InputError } from '../../errors.ts';
import { indexKeys, keepVersionIndex, type VersionIndex } from '../incremental/versionIndex.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { labelRecordOf } from '../outputs/outputParts.ts';
import type { RowOutcome } from '../outputs/rowOutcome.ts';
import { readShardResult } from '../outputs/shardResults.ts';
import type { RunRecord } from '../run/runRecord.ts';
import { isGraphMethod } from '../runOptions.ts';
import { type Collected, loadShardIds } from '../shards/collected.ts';
import type { RunInput } from '../shards/shardPlan.ts';
import type { StageContext } from '../stageContext.ts';
import type { VersionChanges } from './versionChanges.ts';
import {
  featuresFile,
  MODEL_FILE,
  partFile,
  type VersionModel,
  writeModelPart,
  writeVersionModel,
} from './versionModel.ts';
import { bucketCount, bucketKey, hasShardRows, writeShardRows } from './versionRows.ts';

/**
 * The label store of a dataset (DESIGN.md section 5, "Datasets keep history"):
 *   datasets/<dataset>/versions/<n>/   labels (the run's format), report.json/.html, rejected.csv, rows/ (versionRows.ts),
 *                                      model/ (graph methods: what predict needs, versionModel.ts),
 *                                      version.json (written last: a version without it is not complete), claim.json
 *   datasets/<dataset>/latest.json     the newest complete version, swapped by compare-and-swap (putIfMatch)
 * A run claims version n by creating versions/<n>/claim.json put-if-absent (S3 If-None-Match), so two runs never
 * both become version n: the loser takes n + 1. latest.json only moves forward.
 */
export const datasetKeys = {
  dataset: (dataset: string) => `datasets/${dataset}/`,
  latest: (dataset: string) => `datasets/${dataset}/latest.json`,
  version: (dataset: string, version: number) => `datasets/${dataset}/versions/${version}/`,
  versionFile: (dataset: string, version: number, file: string) => `datasets/${dataset}/versions/${version}/${file}`,
  /** The run's choice of the version it compares against, fixed once (a redelivered finalize keeps it). */
  base: (runId: string) => `runs/${runId}/version/base.json`,
  /** What the run copies into its version besides its outputs: rows/ and model/. */
  staged: (runId: string) => `runs/${runId}/version/files/`,
  /** The run's rows, bucketed (versionRows.ts), before they are copied into the version. */
  rows: (runId: string) => `runs/${runId}/version/files/rows/`,
  /** The run's model for new rows (versionModel.ts), before it is copied into the version. */
  model: (runId: string) => `runs/${runId}/version/files/model/`,
};

/**
 * A dataset name is one key segment, as the folders under incoming/ are: 1 to 128 characters, no '/', no control
 * character, not '.' or '..'.
 */
export function checkDatasetName(dataset: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  const bad = dataset.length === 0 || dataset.length > 128 || /[/\u0000-\u001f]/.test(dataset);
  if (bad || dataset === '.' || dataset === '..') {
    throw new InputError(
      `invalid dataset name ${JSON.stringify(dataset)}: use 1 to 128 characters, no '/', as a folder under incoming/`,
    );
  }
}

/** datasets/<dataset>/latest.json */
export interface LatestVersion {
  readonly dataset: string;
  readonly version: number;
  readonly runId: string;
  readonly updatedAt: string;
}

/** datasets/<dataset>/versions/<n>/version.json */
export interface VersionRecord {
  readonly dataset: string;
  readonly version: number;
  readonly runId: string;
  readonly createdAt: string;
  /** The labels file of this version: labels.csv or labels.parquet. */
  readonly labels: string;
  readonly rows: number;
  /** Buckets of rows/ (versionRows.ts). */
  readonly buckets: number;
  readonly classes: string[];
  /** The input files the run read, with their ETags and sizes. */
  readonly inputs: RunInput[];
  readonly options: RunRecord['options'];
  /** The run's digest of its files and options (runs over incoming/): unchanged data starts no retrain run. */
  readonly contentKey?: string;
  /** The version this one's report compares against. */
  readonly previousVersion?: number;
}

async function readOptionalJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  try {
    return await readJson<T>(store, key);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** The dataset's newest complete version, or undefined before its first. */
export function readLatest(store: ObjectStore, dataset: string): Promise<LatestVersion | undefined> {
  return readOptionalJson<LatestVersion>(store, datasetKeys.latest(dataset));
}

export function readVersion(store: ObjectStore, dataset: string, version: number): Promise<VersionRecord> {
  return readJson<VersionRecord>(store, datasetKeys.versionFile(dataset, version, 'version.json'));
}

/**
 * A shard task's part of the version a run publishes: the shard's rows by bucket (versionRows.ts), from its ids
 * and outcome, and for a graph method its model part (writeModelPart), so that finalize joins the shards' rows
 * instead of formatting every row itself, and writes no row's features. Nothing for a run that publishes no
 * version.
 */
export async function writeVersionShardParts(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
  shard: number,
  ids: readonly string[],
  outcome: RowOutcome,
): Promise<void> {
  if (!run.versioned) return;
  const recordOf = labelRecordOf(ids, collected.classes, outcome);
  await writeShardRows(ctx.store, run.runId, shard, bucketCount(collected.n), ids, recordOf);
  if (isGraphMethod(run.options.method)) {
    const kept = (await keptFeatures(ctx, run, collected))(shard);
    await writeModelPart(ctx, run.runId, collected, datasetKeys.model(run.runId), shard, kept);
  }
}

/** What finalize prepares before it writes the report: the version compared against and the changes. */
export interface PreparedVersion {
  /**
   * The files staged for the version (under datasetKeys.staged), named rather than listed: a listing on disk
   * reads every file for its MD5 entity tag (hundreds of MB of rows and model).
   */
  readonly files: string[];
  readonly base?: LatestVersion;
  readonly buckets: number;
  readonly classes: string[];
  readonly changes: VersionChanges;
}

/**
 * version step: writes the rows by bucket of any shard whose outcome task did not (writeVersionShardParts), so
 * that the compare tasks find every shard's part of every bucket.
 */
export async function writeMissingShardRows(ctx: StageContext, run: RunRecord, collected: Collected): Promise<void> {
  const buckets = bucketCount(collected.n);
  for (let s = 0; s < collected.shards.length; s++) {
    if (await hasShardRows(ctx.store, run.runId, s)) continue;
    const ids = await loadShardIds(ctx, run.runId, collected, s);
    const outcome = await readShardResult(ctx, run.runId, s);
    await writeShardRows(ctx.store, run.runId, s, buckets, ids, labelRecordOf(ids, collected.classes, outcome));
  }
}

/**
 * finalize: the version's model (model.json, and any part no shard task wrote) and the list of its staged
 * files, with the base and the changes the compare tasks found (versionComparison.ts).
 */
export async function prepareVersion(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
  compared: { readonly base?: LatestVersion; readonly changes: VersionChanges },
): Promise<PreparedVersion> {
  const buckets = bucketCount(collected.n);
  const kept = await keptFeatures(ctx, run, collected);
  const model = await writeVersionModel(ctx, run.runId, run.options, collected, datasetKeys.model(run.runId), kept);
  const files = [
    ...Array.from({ length: buckets }, (_, b) => bucketKey('rows/', b)),
    ...(model ? [`model/${MODEL_FILE}`] : []),
    ...(model ? collected.shards.flatMap((_, s) => [`model/${partFile(s)}`, `model/${featuresFile(s)}`]) : []),
  ];
  const { base, changes } = compared;
  return { ...(base ? { base } : {}), files, buckets, classes: collected.classes, changes };
}

/**
 * The shards of an incremental run whose model features the base version keeps (featuresFile): a shard reused
 * from the base, with the same duplicate rows dropped, in a run without scaling (as the base's model). Named by
 * their key in the base version, which holds them even when an earlier version wrote them.
 */
async function keptFeatures(
  ctx: StageContext,
  run: RunRecord,
  collected: Collected,
): Promise<(shard: number) => string | undefined> {
  const none = () => undefined;
  const incremental = run.incremental;
  if (incremental === undefined || scalesFeatures(collected.scaling)) return none;
  const modelKey = (file: string) => datasetKeys.versionFile(run.dataset, incremental.baseVersion, `model/${file}`);
  const model = await readOptionalJson<VersionModel>(ctx.store, modelKey(MODEL_FILE));
  const index = await readOptionalJson<VersionIndex>(ctx.store, indexKeys.index(run.dataset, incremental.baseVersion));
  if (!model?.featuresApart || scalesFeatures(model.scaling) || index === undefined) return none;
  return (shard) => {
    const base = incremental.reused[shard] ?? -1;
    const was = base < 0 ? undefined : index.rows[base];
    const now = collected.shards[shard];
    if (was === undefined || was.rows !== now.rows || was.dropped.length !== now.dropped.length) return undefined;
    if (was.dropped.some((row, i) => row !== now.dropped[i])) return undefined;
    return modelKey(featuresFile(base));
  };
}

/**
 * Claims the first free version number above the base: creates versions/<n>/claim.json put-if-absent; a claim
 * found present is this run's own when it names this run (a redelivered finalize), else another run's, and the
 * next number is tried. Starting from the fixed base, a redelivery finds its own earlier claim on the way up.
 */
async function claimVersion(store: ObjectStore, dataset: string, runId: string, base: number): Promise<number> {
  for (let version = base + 1; ; version++) {
    const claim = datasetKeys.versionFile(dataset, version, 'claim.json');
    if (await store.putIfAbsent(claim, JSON.stringify({ runId }))) return version;
    const owner = await readJson<{ runId: string }>(store, claim);
    if (owner.runId === runId) return version;
  }
}

/** Points latest.json at `version` unless it already points at it or past it (compare-and-swap, retried). */
export async function advanceLatest(store: ObjectStore, latest: LatestVersion): Promise<void> {
  const key = datasetKeys.latest(latest.dataset);
  const body = `${JSON.stringify(latest, null, 2)}\n`;
  for (;;) {
    const info = await store.head(key);
    if (info === undefined) {
      if (await store.putIfAbsent(key, body)) return;
      continue;
    }
    const current = await readOptionalJson<LatestVersion>(store, key);
    if (current !== undefined && current.version >= latest.version) return;
    if (await store.putIfMatch(key, body, info.etag)) return;
  }
}

/**
 * Publishes a succeeded run's outputs (already under runs/<runId>/output/) as the dataset's next version: claims
 * n, copies the output files `outputs` (named, not listed: a listing on disk reads every file for its MD5 entity
 * tag) and rows into versions/<n>/ (ObjectStore.concatenate of one part: server-side on S3), writes version.json, then moves latest.json. Idempotent: a redelivered finalize claims the same n. Returns n.
 */
export async function publishVersion(
  ctx: StageContext,
  run: RunRecord,
  prepared: PreparedVersion,
  outputs: readonly string[],
): Promise<number> {
  const { store } = ctx;
  const dataset = run.dataset;
  const version = await claimVersion(store, dataset, run.runId, prepared.base?.version ?? 0);
  const labels = run.options.format === 'parquet' ? 'labels.parquet' : 'labels.csv';
  for (const file of outputs) {
    await store.concatenate(datasetKeys.versionFile(dataset, version, file), [keys.output(run.runId, file)]);
  }
  const staged = datasetKeys.staged(run.runId);
  for (const file of prepared.files) {
    await store.concatenate(datasetKeys.versionFile(dataset, version, file), [`${staged}${file}`]);
  }
  await keepVersionIndex(ctx, run, version);
  const now = new Date().toISOString();
  const record: VersionRecord = {
    dataset,
    version,
    runId: run.runId,
    createdAt: now,
    labels,
    rows: prepared.changes.rows,
    buckets: prepared.buckets,
    classes: prepared.classes,
    inputs: run.inputs,
    options: run.options,
    ...(run.contentKey ? { contentKey: run.contentKey } : {}),
    ...(prepared.base ? { previousVersion: prepared.base.version } : {}),
  };
  await store.put(datasetKeys.versionFile(dataset, version, 'version.json'), `${JSON.stringify(record, null, 2)}\n`);
  await advanceLatest(store, { dataset, version, runId: run.runId, updatedAt: now });
  return version;
}
