import type { InputFormat } from '../data/inputFiles.ts';
import type { RowSchema } from '../data/rowSource.ts';

/**
 * One ingest unit: a byte range of a CSV or JSONL file (it owns the lines that start inside it) or a set of
 * Parquet row groups. Everything an ingest task needs to parse its part alone is recorded here.
 */
export interface ShardSpec {
  readonly shard: number;
  /** Index into run.inputs. */
  readonly input: number;
  readonly format: InputFormat;
  /** Byte range [start, end) and the number of the first line it owns (CSV, JSONL). */
  readonly start: number;
  readonly end: number;
  readonly firstLine: number;
  /** CSV column names (line 1 of the file). */
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

/**
 * Default shard count: one per 16 MiB of input, rounded up to a multiple of `minimum` (the worker count, so the
 * last wave of shard tasks keeps every worker busy), at most 1,000.
 */
export function defaultShardCount(totalBytes: number, minimum: number): number {
  const bySize = Math.max(1, Math.ceil(totalBytes / (16 * 2 ** 20)));
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
