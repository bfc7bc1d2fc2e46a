import { NotFoundError } from '../../adapters/errors.ts';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import { datasetKeys, readLatest } from '../datasets/datasetVersions.ts';
import { readJson, writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import type { NeighborsPlan } from '../neighbors/neighborsPlan.ts';
import type { ShardMetrics } from '../run/fanIn.ts';
import type { RunRecord } from '../run/runRecord.ts';
import { type Collected, readCollected } from '../shards/collected.ts';
import type { RunInput, ShardPlan, ShardSpec } from '../shards/shardPlan.ts';
import type { StageContext } from '../stageContext.ts';

/**
 * What a dataset version keeps so that the next run over the dataset can reuse its work (incremental runs,
 * issue 19), under datasets/<dataset>/versions/<n>/index/:
 *   index.json                    this record: the files read (key, ETag, size) and the shards made from each
 *   shards/<s>/ingest.bin         the ingested shard (binary shard format), its refused rows and its summary (what
 *   shards/<s>/rejected.json      collect reads of it), as ingest wrote them
 *   shards/<s>/summary.bin
 *   shards/<s>/neighbors.bin      the shard's rows' kNN lists (graph methods over a kNN graph)
 * A later run reuses a file's shards when the file is unchanged (same key, ETag and size under the same root)
 * and would be read the same way (label and id columns, feature columns); it reuses the lists when the graph
 * would be searched the same way (listsReusable).
 */
export interface VersionIndex {
  /** INDEX_FORMAT when written: an index of another format is not reused (the run starts from scratch). */
  readonly format: number;
  readonly runId: string;
  readonly inputRoot: string;
  /** The run's files in row order, each with the shards made from it. */
  readonly inputs: (RunInput & { readonly shards: number[] })[];
  readonly featureNames: string[];
  readonly labelColumn: string;
  readonly idColumn: string;
  /**
   * Per shard: how it was planned, its accepted rows before duplicates were dropped, its refused rows, and where
   * its objects are kept: a shard a run took over unchanged from its base is not copied again, its objects stay
   * in the version that first kept them (`ingestAt`: ingest.bin and rejected.json; `cellsAt`: the cells objects
   * and calibration part). Absent: in this version, under this shard's number.
   */
  readonly shards: {
    readonly spec: ShardSpec;
    readonly ingested: number;
    readonly rejected: number;
    readonly ingestAt?: ObjectsAt;
    readonly cellsAt?: ObjectsAt;
  }[];
  /** collect's rows per shard (accepted, offset, dropped duplicates): maps the lists' row indices. */
  readonly rows: Pick<Collected['shards'][number], 'rows' | 'offset' | 'dropped'>[];
  /** Present when neighbors.bin is kept for every shard: how the lists were searched. */
  readonly lists?: ListsKind;
}

/** The version and shard number under which a shard's objects are kept. */
export interface ObjectsAt {
  readonly version: number;
  readonly shard: number;
}

/** Where shard `shard` of version `version`'s index keeps its ingest objects, or its cells objects. */
export function objectsAt(index: VersionIndex, version: number, shard: number, which: 'ingest' | 'cells'): ObjectsAt {
  const entry = index.shards[shard];
  return (which === 'ingest' ? entry.ingestAt : entry.cellsAt) ?? { version, shard };
}

/** Everything a kNN list depends on besides the rows: lists are reused only when all of it is equal. */
export interface ListsKind {
  readonly k: number;
  readonly mode: NeighborsPlan['mode'];
  readonly kernel: NeighborsPlan['kernel'];
  /** `--scale`: scaled features change with every row added, and with them every distance. */
  readonly scale: string;
  /** Approximate lists: the cells each query probed (the calibrated nprobe). */
  readonly nprobe?: number;
}

/**
 * The format of what an index keeps (index.json, the shard, cells and lists objects): raised whenever one of them
 * changes, so that a version kept by older code is not read as if it were of this one.
 */
export const INDEX_FORMAT = 1;

export const indexKeys = {
  index: (dataset: string, version: number) => datasetKeys.versionFile(dataset, version, 'index/index.json'),
  shardData: (dataset: string, version: number, shard: number) =>
    datasetKeys.versionFile(dataset, version, `index/shards/${pad(shard)}/ingest.bin`),
  shardRejected: (dataset: string, version: number, shard: number) =>
    datasetKeys.versionFile(dataset, version, `index/shards/${pad(shard)}/rejected.json`),
  /** What collect reads of the shard (shardSummary.ts), kept beside it. */
  shardSummary: (dataset: string, version: number, shard: number) =>
    datasetKeys.versionFile(dataset, version, `index/shards/${pad(shard)}/summary.bin`),
  shardNeighbors: (dataset: string, version: number, shard: number) =>
    datasetKeys.versionFile(dataset, version, `index/shards/${pad(shard)}/neighbors.bin`),
  /** Approximate lists: the IVF training (centroids, calibration queries, cell ranges) and what the cells tasks wrote. */
  ivfTraining: (dataset: string, version: number) =>
    datasetKeys.versionFile(dataset, version, 'index/ivf/training.bin'),
  rangeCells: (dataset: string, version: number, range: number, shard: number) =>
    datasetKeys.versionFile(dataset, version, `index/ranges/${pad(range)}/${pad(shard)}/cells.bin`),
  /** Approximate lists: a shard's rows in a cell range with their lists, as the range's neighbors task wrote them. */
  rangeLists: (dataset: string, version: number, range: number, shard: number) =>
    datasetKeys.versionFile(dataset, version, `index/ranges/${pad(range)}/${pad(shard)}/neighbors.bin`),
  shardCalibration: (dataset: string, version: number, shard: number) =>
    datasetKeys.versionFile(dataset, version, `index/shards/${pad(shard)}/calibration.bin`),
};

function pad(shard: number): string {
  return String(shard).padStart(5, '0');
}

/** The kind of lists a run made (kNN graph methods), or undefined when it made none. */
export function listsKindOf(run: RunRecord, collected: Collected): ListsKind | undefined {
  if (run.neighbors === undefined) return undefined;
  return {
    k: run.options.neighbors,
    mode: run.neighbors.mode,
    kernel: run.neighbors.kernel,
    scale: collected.scaling?.method ?? 'none',
    ...(run.neighbors.nprobe !== undefined ? { nprobe: run.neighbors.nprobe } : {}),
  };
}

/**
 * Copies what the next run can reuse into version `version` (called by publishVersion before version.json is
 * written, so a complete version has it): the shards, their refused rows and lists, and index.json last.
 * Copies are server-side on S3 (ObjectStore.concatenate of one part). Idempotent.
 */
export async function keepVersionIndex(ctx: StageContext, run: RunRecord, version: number): Promise<void> {
  const { store } = ctx;
  // A run without a plan or collect record (none in practice: finalize follows collect) keeps no index.
  const plan = await readOptional(() => readJson<ShardPlan>(store, keys.plan(run.runId)));
  const collected = await readOptional(() => readCollected(ctx, run.runId));
  if (plan === undefined || collected === undefined) return;
  const ingested = await Promise.all(
    plan.shards.map((spec) => readJson<ShardMetrics>(store, keys.marker(run.runId, 'ingest', 0, spec.shard))),
  );
  let kind = listsKindOf(run, collected);
  // Shards taken over unchanged from the base version stay where that version's index keeps them.
  const base =
    run.incremental && (await readJson<VersionIndex>(store, indexKeys.index(run.dataset, run.incremental.baseVersion)));
  const reusedFrom = (s: number) => (run.incremental && base ? (run.incremental.reused[s] ?? -1) : -1);
  const ingestAt = (s: number) =>
    reusedFrom(s) < 0 ? undefined : objectsAt(base!, run.incremental!.baseVersion, reusedFrom(s), 'ingest');
  for (const spec of plan.shards) {
    const s = spec.shard;
    if (ingestAt(s) === undefined) {
      await store.concatenate(indexKeys.shardData(run.dataset, version, s), [keys.shardData(run.runId, s)]);
      await store.concatenate(indexKeys.shardRejected(run.dataset, version, s), [keys.shardRejected(run.runId, s)]);
      if (await store.exists(keys.shardSummary(run.runId, s)))
        await store.concatenate(indexKeys.shardSummary(run.dataset, version, s), [keys.shardSummary(run.runId, s)]);
    }
    if (kind && (await store.exists(keys.shardNeighbors(run.runId, s))))
      await store.concatenate(indexKeys.shardNeighbors(run.dataset, version, s), [keys.shardNeighbors(run.runId, s)]);
    else kind = undefined;
  }
  const cellsAt = (s: number) =>
    run.incremental?.ivf && reusedFrom(s) >= 0
      ? objectsAt(base!, run.incremental.baseVersion, reusedFrom(s), 'cells')
      : undefined;
  if (kind?.mode === 'approx' && !(await keepIvfObjects(ctx, run, plan, version, cellsAt))) kind = undefined;
  const index: VersionIndex = {
    format: INDEX_FORMAT,
    runId: run.runId,
    inputRoot: run.inputRoot,
    inputs: run.inputs.map((input, f) => ({
      key: input.key,
      size: input.size,
      etag: input.etag,
      shards: plan.shards.filter((spec) => spec.input === f).map((spec) => spec.shard),
    })),
    featureNames: plan.featureNames,
    labelColumn: run.options.labelColumn,
    idColumn: run.options.idColumn,
    shards: plan.shards.map((spec) => ({
      spec,
      ingested: ingested[spec.shard].rows ?? 0,
      rejected: ingested[spec.shard].rejected ?? 0,
      ...optional('ingestAt', ingestAt(spec.shard)),
      ...(kind?.mode === 'approx' ? optional('cellsAt', cellsAt(spec.shard)) : {}),
    })),
    rows: collected.shards.map(({ rows, offset, dropped }) => ({ rows, offset, dropped })),
    ...(kind ? { lists: kind } : {}),
  };
  await writeJson(store, indexKeys.index(run.dataset, version), index);
}

async function readOptional<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * Approximate lists: the IVF training and the cells tasks' objects (every shard's rows by cell range, its part of
 * the calibration), so that the next run puts only its new rows into cells. False when the run has none.
 */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

async function keepIvfObjects(
  ctx: StageContext,
  run: RunRecord,
  plan: ShardPlan,
  version: number,
  keptAt: (shard: number) => ObjectsAt | undefined,
): Promise<boolean> {
  const { store } = ctx;
  const ranges = run.neighbors?.ranges;
  if (ranges === undefined || !(await store.exists(keys.ivfTraining(run.runId)))) return false;
  await store.concatenate(indexKeys.ivfTraining(run.dataset, version), [keys.ivfTraining(run.runId)]);
  for (const { shard } of plan.shards) {
    for (let r = 0; r < ranges; r++)
      await store.concatenate(indexKeys.rangeLists(run.dataset, version, r, shard), [
        keys.rangeNeighbors(run.runId, r, shard),
      ]);
    if (keptAt(shard) !== undefined) continue;
    await store.concatenate(indexKeys.shardCalibration(run.dataset, version, shard), [
      keys.shardCalibration(run.runId, shard),
    ]);
    for (let r = 0; r < ranges; r++)
      await store.concatenate(indexKeys.rangeCells(run.dataset, version, r, shard), [
        keys.rangeCells(run.runId, r, shard),
      ]);
  }
  return true;
}

/** The dataset's latest version and its index, or undefined (no version yet, or one made before indexes). */
export async function readLatestIndex(
  store: ObjectStore,
  dataset: string,
): Promise<{ version: number; index: VersionIndex } | undefined> {
  const latest = await readLatest(store, dataset);
  if (latest === undefined) return undefined;
  try {
    return {
      version: latest.version,
      index: await readJson<VersionIndex>(store, indexKeys.index(dataset, latest.version)),
    };
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** Whether two records name the same file content: same key, ETag and size (the ETag of a local file: size + mtime). */
export function sameFile(a: RunInput, b: RunInput): boolean {
  return a.key === b.key && a.etag === b.etag && a.size === b.size;
}

/**
 * The dataset's files ordered for reuse: the latest version's files that are unchanged, in that version's order,
 * then the others (new or changed) in the order given (the listing's, by key). Rows are numbered in input order,
 * so the rows of reused files keep their relative order, and when files are only added (the usual growth) every
 * old row keeps its index. A from-scratch run over the same files numbers them the same way when the new files'
 * keys sort after the old ones (docs/ARCHITECTURE.md, "Incremental runs").
 */
export async function orderInputsForReuse(
  store: ObjectStore,
  dataset: string,
  inputRoot: string,
  inputs: RunInput[],
): Promise<RunInput[]> {
  const previous = (await readLatestIndex(store, dataset))?.index;
  if (previous === undefined || previous.inputRoot !== inputRoot) return inputs;
  const kept = previous.inputs.flatMap((old) => inputs.filter((input) => sameFile(input, old)));
  return [...kept, ...inputs.filter((input) => !kept.includes(input))];
}
