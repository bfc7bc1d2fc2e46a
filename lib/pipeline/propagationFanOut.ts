import type { RunOptions } from './runOptions.ts';

/**
 * From this many rows, label spreading / propagation over a kNN graph runs fanned out (edges -> graph -> degrees
 * -> converge / iterate per iteration -> result, one task per partition each) instead of in the propagate
 * step's one process. Below it, one process is faster: measured on 200k x 64 rows (approx, 4 shards, 2
 * workers, 7 iterations) the single-process step took 1.9 s against about 12 s for the fan-out, which pays
 * a round of tasks and store objects per iteration. It is chosen by memory instead: at 2M rows the
 * single-process step needs about 1.5 GB (singleProcessBytes), half a default 3,008 MB reducer.
 */
export const FAN_OUT_FROM_ROWS = 2_000_000;

/**
 * The single-process propagate step's memory above Node's own, in bytes: per row, its k neighbour slots
 * three times over (the n x k lists, the CSR graph and its renumbered copy: 36 bytes a slot), four n x classes
 * blocks of doubles (the iteration's two, the renumbered result and the final distributions) and some 64 bytes
 * of labels, order and outcome. Measured: 200k rows, k = 10, 10 classes, peak RSS 212 MB against 60 MB for a
 * step that holds nothing (744 bytes per row estimated, 760 measured).
 */
export function singleProcessBytes(n: number, neighbors: number, classes: number): number {
  return n * (36 * neighbors + 32 * classes + 64);
}

/** What Node takes before a task holds anything (an empty reduce step's peak RSS, measured: about 60 MB). */
const NODE_BASELINE_BYTES = 64 * 2 ** 20;

/**
 * Tests only: a row count that replaces FAN_OUT_FROM_ROWS (0 fans out every run), read by the propagate step
 * (in the process that runs it).
 */
export const FAN_OUT_FROM_ROWS_ENV = 'PSEUDOLABEL_FAN_OUT_FROM_ROWS';

/**
 * Whether a run's propagation fans out: from FAN_OUT_FROM_ROWS rows, or sooner when the single-process step
 * would not fit the run's `--task-memory`. Only label spreading / propagation over the kNN graph (kernels knn
 * and knn-rbf) without a holdout: the dense rbf kernel is for small n, and a holdout, `--method auto` and
 * co-training need the features of all rows in one process anyway. knn-rbf with `--gamma auto` stays in one
 * process too (the median heuristic reads every row's k-th distance).
 */
export function fansOutPropagation(options: RunOptions, n: number, classes: number): boolean {
  const propagation = options.method === 'label-spreading' || options.method === 'label-propagation';
  if (!propagation || options.kernel === 'rbf' || options.holdout > 0) return false;
  if (options.kernel === 'knn-rbf' && options.gamma === 'auto') return false;
  const forced = process.env[FAN_OUT_FROM_ROWS_ENV];
  const from = forced !== undefined && forced !== '' ? Number(forced) : FAN_OUT_FROM_ROWS;
  if (n >= from) return true;
  if (options.taskMemory === undefined) return false;
  const needed = NODE_BASELINE_BYTES + singleProcessBytes(n, options.neighbors, classes);
  return needed > options.taskMemory * 2 ** 20;
}
