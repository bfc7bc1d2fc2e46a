import type { ObjectStore } from '../../adapters/objectStore.ts';
import type { LabelRecord } from '../../data/labelsWriter.ts';
import { mapConcurrently } from '../concurrentRequests.ts';

/**
 * The rows of a dataset version (datasets/<dataset>/versions/<n>/rows/<b>.jsonl): every labelled row's id, label,
 * confidence and source, one JSON array per line, spread over a power-of-two number of buckets by a hash of the id.
 * A bucket holds about ROWS_PER_BUCKET rows, so whoever compares two versions, or carries a version's labels into
 * the next run, holds one bucket of each at a time, never the dataset. Two versions with different bucket counts
 * are compared at the larger count: bucket b of a version with B buckets holds every row whose hash & (B - 1) is
 * b, so it is a superset of bucket b' of a larger count whenever b' & (B - 1) = b.
 */
export const ROWS_PER_BUCKET = 65_536;

/** A writer flushes a bucket's lines as a chunk object once they pass this many characters. */
const FLUSH_CHARS = 64 * 1024;

export type VersionRow = readonly [id: string, label: string | null, confidence: number, source: string];

/** The number of buckets for n rows: the smallest power of two with at most ROWS_PER_BUCKET rows each. */
export function bucketCount(n: number): number {
  let buckets = 1;
  while (buckets * ROWS_PER_BUCKET < n) buckets *= 2;
  return buckets;
}

/**
 * FNV-1a over the id's UTF-16 code units (those of id[from, to) when given: an id inside a longer text): the same
 * bucket for an id in every run and on every host.
 */
export function idHash(id: string, from = 0, to = id.length): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function bucketKey(prefix: string, bucket: number): string {
  return `${prefix}${String(bucket).padStart(5, '0')}.jsonl`;
}

/**
 * Writes records into `buckets` bucket objects under `prefix` (`<prefix><b>.jsonl`). Each bucket's lines are
 * buffered up to FLUSH_CHARS and written as numbered chunks under `<prefix>chunks/`, then concatenated
 * (ObjectStore.concatenate: streamed on disk, server-side on S3). Memory: buckets x 64 kB of lines.
 */
export async function writeVersionRows(
  store: ObjectStore,
  prefix: string,
  buckets: number,
  records: AsyncIterable<LabelRecord> | Iterable<LabelRecord>,
): Promise<void> {
  const pending: string[] = Array.from({ length: buckets }, () => '');
  const chunks: string[][] = Array.from({ length: buckets }, () => []);
  const flush = async (b: number) => {
    const key = `${prefix}chunks/${String(b).padStart(5, '0')}/${String(chunks[b].length).padStart(6, '0')}`;
    await store.put(key, pending[b]);
    chunks[b].push(key);
    pending[b] = '';
  };
  for await (const record of records) {
    const b = idHash(record.id) & (buckets - 1);
    pending[b] += `${JSON.stringify([record.id, record.label, record.confidence, record.source])}\n`;
    if (pending[b].length >= FLUSH_CHARS) await flush(b);
  }
  for (let b = 0; b < buckets; b++) {
    if (pending[b].length > 0) await flush(b);
    await store.concatenate(bucketKey(prefix, b), chunks[b]);
    for (const key of chunks[b]) await store.delete(key);
  }
}

/**
 * Where one shard's rows of bucket `bucket` wait for finalize (writeShardRows), under the run's version files but
 * outside what is copied into the version.
 */
export function shardRowsKey(runId: string, shard: number, bucket: number): string {
  return `runs/${runId}/version/shard-rows/${String(shard).padStart(5, '0')}/${String(bucket).padStart(5, '0')}.jsonl`;
}

/**
 * One shard's rows by bucket (one object per bucket, empty where none falls), written by the task that has the
 * shard's outcome at hand (output, result, outcome) in a run that publishes a version, so that the shard tasks
 * format the rows in parallel and the compare tasks only join them (joinShardRows). `recordOf(i)` is row i's record
 * (rows in shard order, ids[i] its id). The rows are sorted by bucket first and each bucket's text is built and
 * encoded on its own: no line outlives its bucket, where holding every line of the shard until the end made the
 * young-generation collections copy them (about 40% of an output task's time at 100k rows).
 */
export async function writeShardRows(
  store: ObjectStore,
  runId: string,
  shard: number,
  buckets: number,
  ids: readonly string[],
  recordOf: (row: number) => LabelRecord,
): Promise<void> {
  const byBucket = rowsByBucket(ids, buckets);
  // JSON.stringify of the row's array, its few labels and sources encoded once.
  const encoded = new Map<string | null, string>();
  const json = (value: string | null) => {
    let text = encoded.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      encoded.set(value, text);
    }
    return text;
  };
  const bucketText = (b: number) => {
    let text = '';
    for (let at = byBucket.starts[b]; at < byBucket.starts[b + 1]; at++) {
      const { id, label, confidence, source } = recordOf(byBucket.rows[at]);
      text += `[${JSON.stringify(id)},${json(label)},${JSON.stringify(confidence)},${json(source)}]\n`;
    }
    return Buffer.from(text, 'utf8');
  };
  await mapConcurrently(
    Array.from({ length: buckets }, (_, b) => b),
    (b) => store.put(shardRowsKey(runId, shard, b), bucketText(b)),
  );
}

/** Row numbers grouped by the bucket of their id, in row order within a bucket (a counting sort). */
function rowsByBucket(ids: readonly string[], buckets: number): { starts: Int32Array; rows: Int32Array } {
  const bucketOf = new Int32Array(ids.length);
  const starts = new Int32Array(buckets + 1);
  for (let i = 0; i < ids.length; i++) {
    bucketOf[i] = idHash(ids[i]) & (buckets - 1);
    starts[bucketOf[i] + 1]++;
  }
  for (let b = 0; b < buckets; b++) starts[b + 1] += starts[b];
  const fill = starts.slice(0, buckets);
  const rows = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) rows[fill[bucketOf[i]]++] = i;
  return { starts, rows };
}

/** Whether shard `shard` wrote its rows by bucket (writeShardRows writes bucket 0 among the others). */
export async function hasShardRows(store: ObjectStore, runId: string, shard: number): Promise<boolean> {
  return store.exists(shardRowsKey(runId, shard, 0));
}

/**
 * The version's buckets `buckets` under `prefix` from the shards' rows by bucket, each bucket the shards' parts
 * in shard order (ObjectStore.concatenate): the same bytes as writeVersionRows over the rows in shard order.
 */
export async function joinShardRows(
  store: ObjectStore,
  runId: string,
  prefix: string,
  buckets: readonly number[],
  shards: number,
): Promise<void> {
  const every = Array.from({ length: shards }, (_, s) => s);
  await mapConcurrently(buckets, (b) =>
    store.concatenate(
      bucketKey(prefix, b),
      every.map((s) => shardRowsKey(runId, s, b)),
    ),
  );
}

/** The rows of a version's bucket `bucket`, decoded (carried labels need the ids themselves). */
export async function readVersionRows(store: ObjectStore, prefix: string, bucket: number): Promise<VersionRow[]> {
  const text = new TextDecoder().decode(await store.get(bucketKey(prefix, bucket)));
  const rows: VersionRow[] = [];
  for (const line of text.split('\n')) if (line !== '') rows.push(JSON.parse(line) as VersionRow);
  return rows;
}
