import type { DistanceKernel } from '../../linalg/distanceTiles.ts';
import type { RunOptions } from '../runOptions.ts';

/**
 * How a run finds its k nearest neighbours, decided once by the collect step (and revised by the calibrate
 * step) so that every shard task searches the same way. Recorded in run.json and report.json.
 */
export interface NeighborsPlan {
  readonly mode: 'exact' | 'approx';
  /** Distance kernel of exact search (approximate search always uses the Float32 SIMD kernel). */
  readonly kernel: DistanceKernel;
  /** Why this mode: the option, the size rule, or the calibration's fallback. */
  readonly reason: string;
  /** IVF cells and cells probed per query (approx). */
  readonly nlist?: number;
  readonly nprobe?: number;
  /** recall@k the calibration measured for nprobe on its sample queries (approx). */
  readonly estimatedRecall?: number;
  /** Cell ranges, one neighbors task each (approx; cellRanges.ts). */
  readonly ranges?: number;
  /**
   * approx: each row is routed as a query to the ranges it probes (the probes stage), each range's task searches
   * them among its own members and gather merges the partial lists. Absent in an incremental run whose lists
   * build on the base version's: its range tasks read the probed cells of other ranges instead.
   */
  readonly queriesRouted?: boolean;
}

/**
 * Above this many rows approximate search is the default. scikit-learn-sized data stay exact, and at 100k x 64
 * IVF is about 10 times faster than exact SIMD search at recall@10 >= 0.95 (bench/RESULTS.md).
 */
export const APPROX_FROM_ROWS = 50_000;

/**
 * From this many rows exact search uses the Float32 dot-product SIMD kernel (|x|^2 + |y|^2 - 2 x.y, about 9
 * times faster); below, the float64 sum of squared differences, whose order of near-equal distances is
 * scikit-learn's (its kneighbors computes in float64), so small runs match scikit-learn's graphs exactly.
 */
export const FAST_KERNEL_FROM_ROWS = 20_000;

/**
 * When calibration needs more than this share of the cells, IVF saves too little to be worth its error
 * (uniform, structureless data): exact search is used instead.
 */
export const MAX_PROBED_SHARE = 1 / 3;

/** recall@k that the calibrated nprobe aims at. */
export const TARGET_RECALL = 0.95;

export function exactKernelFor(n: number): DistanceKernel {
  return n >= FAST_KERNEL_FROM_ROWS ? 'wasm' : 'direct';
}

/** The plan for n rows before calibration: the option when given, else approx from APPROX_FROM_ROWS rows. */
export function planNeighbors(options: Pick<RunOptions, 'neighborsMode'>, n: number): NeighborsPlan {
  const kernel = exactKernelFor(n);
  if (options.neighborsMode === 'exact') return { mode: 'exact', kernel, reason: '--neighbors-mode exact' };
  if (options.neighborsMode === 'approx') return { mode: 'approx', kernel, reason: '--neighbors-mode approx' };
  return n >= APPROX_FROM_ROWS
    ? { mode: 'approx', kernel, reason: `${n} rows: approximate search from ${APPROX_FROM_ROWS} rows` }
    : { mode: 'exact', kernel, reason: `${n} rows: exact search below ${APPROX_FROM_ROWS} rows` };
}
