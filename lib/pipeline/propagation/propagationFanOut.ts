import type { HostCapacity } from '../capacity.ts';
import { isGraphMethod, type RunOptions } from '../runOptions.ts';

/**
 * Whether label spreading / propagation over a kNN graph runs fanned out (edges -> graph -> route -> routed ->
 * degrees -> converge / iterate per iteration -> result: partitionGraph.ts) or in the propagate step's one
 * process. One process is faster while it fits: measured on 200k x 64 rows (approx, 4 shards, 2 workers, 7
 * iterations) the single-process step took 1.9 s against about 12 s for the fan-out, which pays a round of tasks
 * and store objects per iteration. So the choice is by size: the fan-out runs once the single-process step
 * would need more than SINGLE_PROCESS_SHARE of the memory a task gets (taskMemoryMb): about 2M rows with k = 10
 * and 10 classes on a default 3,008 MB reducer, about 16M on a 24 GiB machine (the embedded runner).
 */

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

/** The share of a task's memory the single-process step may plan on: room for V8's heap and the estimate's error. */
export const SINGLE_PROCESS_SHARE = 0.5;

/** A task's memory when neither the run (`--task-memory`) nor the host (a Lambda) says: the default reducer's. */
export const DEFAULT_TASK_MEMORY_MB = 3008;

/** What Node takes before a task holds anything (an empty reduce step's peak RSS, measured: about 60 MB). */
const NODE_BASELINE_BYTES = 64 * 2 ** 20;

/**
 * Tests only: a row count from which propagation fans out, instead of the memory rule (0 fans out every run);
 * read by the propagate step, in the process that runs it.
 */
export const FAN_OUT_FROM_ROWS_ENV = 'PSEUDOLABEL_FAN_OUT_FROM_ROWS';

/**
 * The memory a task of this run gets, in MB: `--task-memory`, else the Lambda's (AWS sets its size), else the
 * machine's for the embedded runner without --task-memory (its reduce steps run one at a time, with the machine
 * to themselves), else the default.
 */
export function taskMemoryMb(
  options: Partial<Pick<RunOptions, 'taskMemory'>>,
  env: NodeJS.ProcessEnv = process.env,
  host?: HostCapacity,
): number {
  const machine = host?.kind === 'machine' ? Math.floor(host.reduceStepBytes / 2 ** 20) : undefined;
  return options.taskMemory ?? (Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || machine || DEFAULT_TASK_MEMORY_MB);
}

/**
 * Whether a run's propagation fans out (see above). Only label spreading / propagation over the kNN graph
 * (kernels knn and knn-rbf): the dense rbf kernel is for small n, and `--method auto` and co-training need the
 * features of all rows in one process anyway (a holdout runs in the collect step, on a sample of rows).
 */
export function fansOutPropagation(
  options: Pick<RunOptions, 'method' | 'kernel' | 'neighbors'> & Partial<Pick<RunOptions, 'gamma' | 'taskMemory'>>,
  n: number,
  classes: number,
  env: NodeJS.ProcessEnv = process.env,
  host?: HostCapacity,
): boolean {
  if (!isGraphMethod(options.method) || options.kernel === 'rbf') return false;
  const forced = env[FAN_OUT_FROM_ROWS_ENV];
  if (forced !== undefined && forced !== '') return n >= Number(forced);
  const needed = NODE_BASELINE_BYTES + singleProcessBytes(n, options.neighbors, classes);
  return needed > SINGLE_PROCESS_SHARE * taskMemoryMb(options, env, host) * 2 ** 20;
}
