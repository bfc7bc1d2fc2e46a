import { clampStep } from '../../algorithms/propagation.ts';
import { csrMultiplyRows } from '../../graph/csrGraph.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { keys } from '../keys.ts';
import {
  edgeWeights,
  forEachInFlight,
  PARTITION_REQUESTS_IN_FLIGHT,
  type PartitionState,
  partitionsOf,
  readBoundary,
  readPartitionState,
  readResolvedGamma,
  unreachedRows,
  writeExports,
} from '../propagation/partitionGraph.ts';
import { completeShardTask, shardTaskDone } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import type { RunOptions } from '../runOptions.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * iterate (task per partition, round r = the iteration, from 1): one synchronous (Jacobi) update of this
 * partition's rows, F_r = clamp(G F_{r-1}), exactly as propagationStep computes them in one process: the same
 * edge weights in the same order, normalised the same way (normaliseEdges), the product summed in entry order by
 * the same csrMultiplyRows, then the same clamping. Reads what it needs and nothing more: its partition object
 * (edges, exports, labels, degrees: degrees task), its own F_{r-1} and the F_{r-1} of its boundary rows (written
 * for it by their partitions; with cell-range partitions a small share of its rows); writes F_r for itself and
 * for each partition that reaches its rows, and reports sum |F_r - F_{r-1}| over its rows and its unreached rows
 * in its marker. Memory: the partition's edges, its F twice and its boundary rows' F.
 *
 * A redelivered task that finds its marker does nothing (its output is written): once every task of round r
 * is marked, round r+1 may delete F_{r-1}, which only round r reads.
 */
export async function iterateStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const total = partitionsOf(run).count;
  if (await shardTaskDone(ctx, task)) {
    await completeShardTask(ctx, task, total, 'converge', { ms: 0 });
    return;
  }
  const { runId, shard: partition, round } = task;
  const k = run.options.neighbors;
  const state = await readPartitionState(ctx, runId, partition);
  const rows = state.y.length;
  const [own] = unpackArrays(await ctx.store.get(keys.partitionRows(runId, round - 1, partition))) as Float64Array[];
  // rows x classes (collect.json, which also says, is not read for it at every iteration)
  const classes = rows === 0 ? 0 : own.length / rows;
  const boundary = state.owners.length === 0 ? 0 : state.ownerEnds[state.ownerEnds.length - 1];
  // F_{r-1} of the rows the edges reach: the partition's own rows, then its boundary rows.
  const previous = new Float64Array((rows + boundary) * classes);
  previous.set(own);
  await readBoundary(ctx, state, previous, rows, classes, (owner) =>
    keys.partitionRowsFor(runId, round - 1, owner, partition),
  );
  const current = previous.subarray(0, rows * classes);
  const data = await normaliseEdges(ctx, runId, partition, state, k, run.options);
  const next = new Float64Array(rows * classes);
  const indptr = Int32Array.from({ length: rows + 1 }, (_, i) => i * k);
  csrMultiplyRows({ n: rows, indptr, indices: state.positions, data }, previous, classes, next, 0, rows);
  const alpha = run.options.method === 'label-spreading' ? run.options.alpha : null;
  const delta = clampStep(state.y, classes, alpha, current, next);

  await ctx.store.put(keys.partitionRows(runId, round, partition), packArrays([next]));
  await writeExports(ctx, state, next, classes, (reader) => keys.partitionRowsFor(runId, round, partition, reader));
  if (round >= 2) {
    await ctx.store.delete(keys.partitionRows(runId, round - 2, partition));
    await forEachInFlight(Array.from(state.readers), PARTITION_REQUESTS_IN_FLIGHT, (reader) =>
      ctx.store.delete(keys.partitionRowsFor(runId, round - 2, partition, reader)),
    );
  }
  await completeShardTask(ctx, task, total, 'converge', {
    ms: Math.round(performance.now() - started),
    rows,
    delta,
    unreached: unreachedRows(next, classes, state.y),
  });
}

/**
 * The partition's rows of the graph the iteration multiplies by, in place of the raw weights:
 * - knn-rbf: weights exp(-gamma d^2) with the graph step's gamma (edgeWeights);
 * - label propagation (rowNormalize): each row divided by its sum, summed in entry order (a zero sum left);
 * - label spreading (normalizedLaplacianAffinity): w_ij / d_i / d_j with d the square roots of the in-degrees
 *   (degrees tasks: its own, and its boundary rows' from their partitions), and 0 on the diagonal (the
 *   self-loop stays an entry of weight 0, as in one process).
 */
async function normaliseEdges(
  ctx: StageContext,
  runId: string,
  partition: number,
  state: PartitionState,
  k: number,
  options: RunOptions,
): Promise<Float64Array> {
  const { positions, y } = state;
  const rows = y.length;
  const data = edgeWeights(positions, state.distances, await readResolvedGamma(ctx, runId, options));
  if (options.method === 'label-spreading') {
    const boundary = state.owners.length === 0 ? 0 : state.ownerEnds[state.ownerEnds.length - 1];
    const degrees = new Float64Array(rows + boundary);
    degrees.set(state.degrees);
    await readBoundary(ctx, state, degrees, rows, 1, (owner) => keys.partitionDegreesFor(runId, owner, partition));
    for (let i = 0; i < rows; i++) {
      for (let p = i * k; p < (i + 1) * k; p++) {
        data[p] = positions[p] === i ? 0 : data[p] / degrees[i] / degrees[positions[p]];
      }
    }
    return data;
  }
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let p = i * k; p < (i + 1) * k; p++) sum += data[p];
    if (sum === 0) continue;
    for (let p = i * k; p < (i + 1) * k; p++) data[p] /= sum;
  }
  return data;
}
