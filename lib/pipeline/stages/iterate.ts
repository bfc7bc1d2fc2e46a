import { clampStep } from '../../algorithms/propagation.ts';
import { csrMultiplyRows } from '../../graph/csrGraph.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { keys } from '../keys.ts';
import {
  edgeWeights,
  forEachInFlight,
  PARTITION_REQUESTS_IN_FLIGHT,
  type PartitionEdges,
  type PartitionState,
  readPartitionEdges,
  readPartitionState,
  readReached,
  readResolvedGamma,
  unreachedRows,
  writeExports,
} from '../propagation/partitionGraph.ts';
import { completeShardTask, shardTaskDone } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import type { RunOptions } from '../runOptions.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * iterate (shard task, round r = the iteration, from 1): one synchronous (Jacobi) update of this partition's
 * rows, F_r = clamp(G F_{r-1}), exactly as propagationStep computes them in one process: the same edge weights
 * in the same order, normalised the same way (normaliseEdges), the product summed in entry order by the same
 * csrMultiplyRows, then the same clamping. Reads its edges (as its edges task stored them), its own F_{r-1} and
 * the F_{r-1} of the rows its edges reach (written for it by their partitions); writes F_r for itself and for
 * each partition that reaches its rows, and reports sum |F_r - F_{r-1}| over its rows and its unreached rows in
 * its marker. Memory: the partition's edges, its F twice and the reached rows' F (at most rows x k x classes
 * doubles).
 *
 * A redelivered task that finds its marker does nothing (its output is written): once every task of round r
 * is marked, round r+1 may delete F_{r-1}, which only round r reads.
 */
export async function iterateStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const collected = await readCollected(ctx, task.runId);
  const total = collected.shards.length;
  if (await shardTaskDone(ctx, task)) {
    await completeShardTask(ctx, task, total, 'converge', { ms: 0 });
    return;
  }
  const run = await readRun(ctx.store, task.runId);
  const { runId, shard, round } = task;
  const edges = await readPartitionEdges(ctx, runId, collected, run.options, shard);
  const { rows, k, positions } = edges;
  const classes = collected.classes.length;
  const state = await readPartitionState(ctx, runId, shard);
  const data = await normaliseEdges(ctx, runId, edges, state, run.options);
  const previous = await readReached(ctx, edges, classes, (owner) =>
    keys.partitionRowsFor(runId, round - 1, owner, shard),
  );
  const [current] = unpackArrays(await ctx.store.get(keys.partitionRows(runId, round - 1, shard))) as Float64Array[];
  const next = new Float64Array(rows * classes);
  const indptr = Int32Array.from({ length: rows + 1 }, (_, i) => i * k);
  csrMultiplyRows({ n: rows, indptr, indices: positions, data }, previous, classes, next, 0, rows);
  const alpha = run.options.method === 'label-spreading' ? run.options.alpha : null;
  const delta = clampStep(state.y, classes, alpha, current, next);

  await ctx.store.put(keys.partitionRows(runId, round, shard), packArrays([next]));
  await writeExports(ctx, state, next, classes, (reader) => keys.partitionRowsFor(runId, round, shard, reader));
  if (round >= 2) {
    await ctx.store.delete(keys.partitionRows(runId, round - 2, shard));
    await forEachInFlight(Array.from(state.readers), PARTITION_REQUESTS_IN_FLIGHT, (reader) =>
      ctx.store.delete(keys.partitionRowsFor(runId, round - 2, shard, reader)),
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
 *   (degrees tasks), and 0 on the diagonal (the self-loop stays an entry of weight 0, as in one process).
 */
async function normaliseEdges(
  ctx: StageContext,
  runId: string,
  edges: PartitionEdges,
  state: PartitionState,
  options: RunOptions,
): Promise<Float64Array> {
  const { offset, rows, k, reached, positions } = edges;
  const data = edgeWeights(edges, await readResolvedGamma(ctx, runId, options));
  if (options.method === 'label-spreading') {
    const own = state.degrees;
    const degrees = await readReached(ctx, edges, 1, (owner) => keys.partitionDegreesFor(runId, owner, edges.shard));
    for (let i = 0; i < rows; i++) {
      for (let p = i * k; p < (i + 1) * k; p++) {
        data[p] = reached[positions[p]] === offset + i ? 0 : data[p] / own[i] / degrees[positions[p]];
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
