import { availableParallelism, totalmem } from 'node:os';
import { DEFAULT_MAX_COLUMNS } from '../data/rowSource.ts';
import { OptionsError } from '../errors.ts';

/**
 * Upper bounds a run must stay within, so that careless or hostile options (`shards: 100000` on a 274 KB file,
 * `--workers 1000`, a label column of 10,000 classes, a five-million-column header) are refused with a message
 * instead of running for minutes or exhausting the host. The host sets them, never the run's options: on AWS the
 * stack puts them in the functions' environment (infra/config.ts `maxShards`, `maxColumns`), so an uploaded
 * pseudolabel.json cannot raise them; the embedded host uses the defaults. Fixed bounds of single options
 * (neighbors, maxIter, rounds, kBest) are in runOptions.ts.
 */
export interface RunLimits {
  /** Most shards of one run (PSEUDOLABEL_MAX_SHARDS, default 1,000). */
  readonly maxShards: number;
  /** Most columns of an input file (PSEUDOLABEL_MAX_COLUMNS, default 100,000). */
  readonly maxColumns: number;
  /** Memory of this host in bytes: the Lambda's memory size, else the machine's. */
  readonly memoryBytes: number;
}

export const DEFAULT_MAX_SHARDS = 1000;
/** A shard needs this many rows of input (estimated), beyond the first few shards any run may have. */
export const ROWS_PER_SHARD = 1000;
/** Shards any run may have whatever its size (small inputs split for tests and determinism checks). */
export const FREE_SHARDS = 16;
/** Worker threads per core at most (`--workers`). */
export const WORKERS_PER_CORE = 4;
/** The limits of this host, from its environment. */
export function runLimits(env: NodeJS.ProcessEnv = process.env): RunLimits {
  const lambdaMb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return {
    maxShards: positiveInteger(env, 'PSEUDOLABEL_MAX_SHARDS', DEFAULT_MAX_SHARDS),
    maxColumns: positiveInteger(env, 'PSEUDOLABEL_MAX_COLUMNS', DEFAULT_MAX_COLUMNS),
    memoryBytes: lambdaMb > 0 ? lambdaMb * 2 ** 20 : totalmem(),
  };
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new Error(`environment variable ${name} must be an integer >= 1: ${value}`);
  }
  return parsed;
}

/** The most shards an input of about `estimatedRows` rows may have. */
export function shardAllowance(estimatedRows: number, limits: RunLimits): number {
  return Math.min(limits.maxShards, Math.max(FREE_SHARDS, Math.ceil(estimatedRows / ROWS_PER_SHARD)));
}

/** Refuses a `shards` option above the allowance, saying both bounds (OptionsError). */
export function checkShards(shards: number, estimatedRows: number, limits: RunLimits): void {
  const allowed = shardAllowance(estimatedRows, limits);
  if (shards <= allowed) return;
  throw new OptionsError(
    `shards ${shards} is more than this input allows: at most ${allowed} (any run may have ${FREE_SHARDS}, more need ` +
      `${ROWS_PER_SHARD.toLocaleString('en-US')} rows each: about ${Math.round(estimatedRows).toLocaleString('en-US')} ` +
      `rows estimated; and at most ${limits.maxShards.toLocaleString('en-US')}, this host's maximum): use --shards ${allowed} or fewer`,
  );
}

/** Refuses more worker threads than WORKERS_PER_CORE per core of this host (OptionsError). */
export function checkWorkers(workers: number, cores = availableParallelism()): void {
  const most = WORKERS_PER_CORE * cores;
  if (workers <= most) return;
  throw new OptionsError(
    `--workers ${workers} is more than ${WORKERS_PER_CORE} per core of this host (${cores} cores): use --workers ${most} or fewer`,
  );
}
