import type { RunOptions } from './runOptions.ts';

/**
 * From this many rows, label spreading / propagation over a kNN graph runs fanned out (edges -> degrees ->
 * iterate x maxIter -> outcome, one task per partition each) instead of in the propagate step's one process.
 * Below it, one process is faster: the fan-out pays a task round trip per iteration, and the single-process
 * loop's memory (about 600 bytes per row) still fits a reducer (TODO measured in the report).
 */
export const FAN_OUT_FROM_ROWS = 1_000_000;

/**
 * Tests only: a row count that replaces FAN_OUT_FROM_ROWS (0 fans out every run), read by the propagate step
 * (in the process that runs it).
 */
export const FAN_OUT_FROM_ROWS_ENV = 'PSEUDOLABEL_FAN_OUT_FROM_ROWS';

/**
 * Whether a run's propagation fans out. Only label spreading / propagation over the kNN graph (kernels knn and
 * knn-rbf) without a holdout: the dense rbf kernel is for small n, and a holdout, `--method auto` and
 * co-training need the features of all rows in one process anyway. knn-rbf with `--gamma auto` stays in one
 * process too (the median heuristic reads every row's k-th distance).
 */
export function fansOutPropagation(options: RunOptions, n: number): boolean {
  const propagation = options.method === 'label-spreading' || options.method === 'label-propagation';
  if (!propagation || options.kernel === 'rbf' || options.holdout > 0) return false;
  // --gamma auto is a median over every row's k-th neighbour distance: found in one process for now
  if (options.kernel === 'knn-rbf' && options.gamma === 'auto') return false;
  const forced = process.env[FAN_OUT_FROM_ROWS_ENV];
  const from = forced !== undefined && forced !== '' ? Number(forced) : FAN_OUT_FROM_ROWS;
  return n >= from;
}
