import type { RejectedRow } from '../../data/dataset.ts';
import { UNLABELLED } from '../../data/dataset.ts';
import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { type FeatureScaling, scaleInPlace } from '../../data/featureScaling.ts';
import { decodeShard, idsSection, SHARD_HEADER_BYTES } from '../../data/shardFormat.ts';
import { readPackedRange, unpackArrays } from '../binaryArrays.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';
import { placeShard, type ShardPlace } from './shardPlace.ts';
import { readShardRows } from './shardRowReads.ts';

/** runs/<runId>/collect.json: what the collect step learnt from all ingested shards. */
export interface Collected {
  readonly n: number;
  readonly d: number;
  readonly classes: string[];
  readonly featureNames: string[];
  readonly given: number;
  /**
   * Dataset runs (carriedLabels.ts): rows labelled from the latest version (carried) or by a correction
   * (confirmed). Set, a row's training label is collect's labels.bin, not its shard's label column.
   */
  readonly overrides?: { readonly carried: number; readonly confirmed: number };
  /**
   * Per shard: accepted rows, global index of its first row, local rows dropped as duplicate ids, and where its
   * rows are in their file (its lines and default ids are read through it: shardPlace.ts).
   */
  readonly shards: { rows: number; offset: number; dropped: number[]; place: ShardPlace }[];
  /** Rows whose id repeats an earlier one, with the index of their input file. */
  readonly duplicates: (RejectedRow & { input: number })[];
  /** `--scale` and the statistics it scales with, over every accepted row; absent in runs before it existed. */
  readonly scaling?: FeatureScaling;
}

/** One shard's accepted rows, ready for the algorithms. */
export interface ShardRows {
  readonly ids: string[];
  readonly X: FeatureMatrix;
  readonly y: Int32Array;
  readonly lines: Int32Array;
}

export function readCollected(ctx: StageContext, runId: string): Promise<Collected> {
  return readJson<Collected>(ctx.store, keys.collected(runId));
}

/** Maps labels to class indices: a class is a label's exact (trimmed) text, as encodeLabels named them. */
export function classIndexer(classes: readonly string[]): (label: string | null) => number {
  const index = new Map(classes.map((name, i) => [name, i]));
  return (label) => (label === null ? UNLABELLED : (index.get(label) ?? UNLABELLED));
}

/** The local rows of a shard that collect kept (those whose id was not a duplicate), ascending. */
export function keptRows(collected: Collected, shard: number, n: number): number[] {
  const dropped = new Set(collected.shards[shard].dropped);
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (!dropped.has(i)) keep.push(i);
  return keep;
}

/**
 * Loads a shard's accepted rows (duplicate ids left out) with labels encoded as class indices, the features
 * scaled with the run's `--scale` statistics: every stage that reads features reads them here (or, features only,
 * loadShardFeatures).
 */
export async function loadShardRows(
  ctx: StageContext,
  runId: string,
  shard: number,
  collected: Collected,
): Promise<ShardRows> {
  const decoded = placeShard(
    decodeShard(await ctx.store.get(keys.shardData(runId, shard))),
    collected.shards[shard].place,
  );
  const indexOf = classIndexer(collected.classes);
  const { d } = decoded;
  const keep = keptRows(collected, shard, decoded.n);
  const scaled = collected.scaling !== undefined && collected.scaling.method !== 'none';
  const data = keep.length === decoded.n && !scaled ? decoded.features : new Float32Array(keep.length * d);
  if (data !== decoded.features) {
    for (let r = 0; r < keep.length; r++) data.set(decoded.features.subarray(keep[r] * d, (keep[r] + 1) * d), r * d);
  }
  if (scaled) scaleInPlace(data, d, collected.scaling!);
  return {
    ids: keep.map((i) => decoded.ids[i]),
    X: { data, n: keep.length, d },
    y: collected.overrides
      ? await readCollectedLabelRange(
          ctx,
          runId,
          collected.shards[shard].offset,
          collected.shards[shard].offset + keep.length,
        )
      : Int32Array.from(keep, (i) => indexOf(decoded.labels[i])),
    lines: Int32Array.from(keep, (i) => decoded.lines[i]),
  };
}

/**
 * A shard's accepted rows' features as loadShardRows gives them (duplicates left out, scaled), read by ranged
 * GETs of the feature section only: no ids, labels or lines are decoded.
 */
export async function loadShardFeatures(
  ctx: StageContext,
  runId: string,
  shard: number,
  collected: Collected,
): Promise<Float32Array> {
  const { n } = idsSection(await ctx.store.getRange(keys.shardData(runId, shard), 0, SHARD_HEADER_BYTES));
  const data = await readShardRows(ctx, runId, shard, collected.d, keptRows(collected, shard, n));
  if (collected.scaling !== undefined && collected.scaling.method !== 'none') {
    scaleInPlace(data, collected.d, collected.scaling);
  }
  return data;
}

/** Concatenates every shard's rows in shard order: the whole data set, for reduce steps that need it. */
export async function loadAllRows(ctx: StageContext, runId: string, collected: Collected): Promise<ShardRows> {
  const data = new Float32Array(collected.n * collected.d);
  const y = new Int32Array(collected.n);
  const lines = new Int32Array(collected.n);
  const ids: string[] = [];
  for (let s = 0; s < collected.shards.length; s++) {
    const rows = await loadShardRows(ctx, runId, s, collected);
    const offset = collected.shards[s].offset;
    data.set(rows.X.data, offset * collected.d);
    y.set(rows.y, offset);
    lines.set(rows.lines, offset);
    for (const id of rows.ids) ids.push(id);
  }
  return { ids, X: { data, n: collected.n, d: collected.d }, y, lines };
}

/** The class index of every row (-1 unlabelled), in row order: what propagation over a built graph needs. */
export async function readCollectedLabels(ctx: StageContext, runId: string): Promise<Int32Array> {
  const [y] = unpackArrays(await ctx.store.get(keys.collectedLabels(runId)));
  return y as Int32Array;
}

/**
 * Where the labels of the rows [start, end) came from (carriedLabels.ts ORIGIN), or undefined when every label
 * is the user's own (collect writes origins.bin only for runs with carried or confirmed labels).
 */
export async function readCollectedOrigins(
  ctx: StageContext,
  runId: string,
  start = 0,
  end?: number,
): Promise<Uint8Array | undefined> {
  const key = keys.collectedOrigins(runId);
  if (!(await ctx.store.exists(key))) return undefined;
  if (end === undefined) return unpackArrays(await ctx.store.get(key))[0] as Uint8Array;
  return (await readPackedRange(ctx.store, key, start, end)) as Uint8Array;
}

/** The class index of the rows [start, end) (one shard's accepted rows, say), read with a ranged GET. */
export async function readCollectedLabelRange(
  ctx: StageContext,
  runId: string,
  start: number,
  end: number,
): Promise<Int32Array> {
  return (await readPackedRange(ctx.store, keys.collectedLabels(runId), start, end)) as Int32Array;
}

/** A shard's accepted ids in row order (duplicate ids left out), without decoding features or labels. */
export async function loadShardIds(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  shard: number,
): Promise<string[]> {
  const place = collected.shards[shard].place;
  const shardIds = placeShard(decodeShard(await ctx.store.get(keys.shardData(runId, shard))), place).ids;
  if (collected.shards[shard].dropped.length === 0) return shardIds;
  return keptRows(collected, shard, shardIds.length).map((i) => shardIds[i]);
}
