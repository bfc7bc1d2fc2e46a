import type { Compression } from '../../data/decompress.ts';
import type { InputFormat } from '../../data/inputFiles.ts';
import type { RowSchema } from '../../data/rowSource.ts';

/** One input file of a run, as found when the run started (the ETag pins the version read). */
export interface RunInput {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  /** The shards made from the file (set by the plan step). */
  readonly shards?: number[];
}

/**
 * One ingest unit: a byte range of a CSV or JSONL file (it owns the lines that start inside it) or a set of
 * Parquet row groups. Everything an ingest task needs to parse its part alone is recorded here.
 */
export interface ShardSpec {
  readonly shard: number;
  /** Index into run.inputs. */
  readonly input: number;
  readonly format: InputFormat;
  /**
   * Byte range [start, end) (CSV, JSONL): the range owns the lines that start in it. Their line numbers are not
   * planned (that would read the file up to each range): ingest counts them, collect places them (shardPlace.ts).
   */
  readonly start: number;
  readonly end: number;
  /**
   * A compressed file (CSV, JSONL): one shard reads it whole, decompressing as it goes, header included (no
   * byte range of compressed data can be read on its own).
   */
  readonly compression?: Compression;
  /** CSV column names (line 1 of the file), for a byte range after it. */
  readonly header?: string[];
  /** JSONL / Parquet schema, found once by the planner. */
  readonly schema?: RowSchema;
  /** Parquet row groups of this shard. */
  readonly rowGroups?: number[];
}

/** runs/<runId>/plan.json. */
export interface ShardPlan {
  readonly shards: ShardSpec[];
  readonly featureNames: string[];
}

/** Input bytes per default shard: a fixed pool of local workers, or an elastic fan-out (Lambda). */
export const SHARD_BYTES = { workers: 64 * 2 ** 20, elastic: 16 * 2 ** 20 } as const;

/**
 * Default shard count, at most 1,000. With a fixed number of `workers` (the embedded runner): one shard per
 * 64 MiB of input, rounded up to a multiple of `workers` so the last wave of shard tasks keeps every worker
 * busy. Every neighbors task reads the whole IVF index once, so on a fixed pool fewer, larger tasks waste less
 * (1M x 64 on 2 workers: 57 s with 8 shards, 67 s with 30). Without (Lambda, whose concurrency grows with the
 * fan-out): one per 16 MiB.
 */
export function defaultShardCount(totalBytes: number, workers?: number): number {
  const perShard = workers === undefined ? SHARD_BYTES.elastic : SHARD_BYTES.workers;
  const bySize = Math.max(1, Math.ceil(totalBytes / perShard));
  const minimum = workers ?? 1;
  return Math.min(1000, Math.ceil(bySize / minimum) * minimum);
}

/**
 * Splits max(shards, files) shards over files in proportion to their sizes, at least one each (largest
 * remainders first, the lower index on a tie; shards a file was raised to are taken back from the files most
 * above their share).
 */
export function shardsPerFile(sizes: readonly number[], shards: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total === 0) return sizes.map(() => 1);
  const target = Math.max(shards, sizes.length);
  const exact = sizes.map((size) => (target * size) / total);
  const counts = exact.map((x) => Math.max(1, Math.floor(x)));
  let left = target - counts.reduce((a, b) => a + b, 0);
  const argmax = (score: (i: number) => number, eligible: (i: number) => boolean) => {
    let best = -1;
    for (let i = 0; i < counts.length; i++) if (eligible(i) && (best < 0 || score(i) > score(best))) best = i;
    return best;
  };
  for (; left > 0; left--)
    counts[
      argmax(
        (i) => exact[i] - counts[i],
        () => true,
      )
    ]++;
  for (; left < 0; left++)
    counts[
      argmax(
        (i) => counts[i] - exact[i],
        (i) => counts[i] > 1,
      )
    ]--;
  return counts;
}
