import type { Graph } from '../../graph/affinity.ts';
import { connectivityFromNeighbors } from '../../graph/knnKernel.ts';
import { rbfWeightsFromNeighbors } from '../../graph/knnRbfKernel.ts';
import { type KnnResult, knnSelfSearch } from '../../graph/knnSearch.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { markOrigins } from '../outputs/rowOutcome.ts';
import { writeShardResults } from '../outputs/shardResults.ts';
import { choosePartitions } from '../propagation/partitionGraph.ts';
import { fansOutPropagation } from '../propagation/propagationFanOut.ts';
import {
  countUnreached,
  gammaWarning,
  medianHeuristicGamma,
  unreachedHint,
  usesGamma,
} from '../propagation/unreached.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { isGraphMethod, type RunOptions } from '../runOptions.ts';
import {
  type Collected,
  loadAllRows,
  readCollected,
  readCollectedLabels,
  readCollectedOrigins,
} from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';
import { resolveViews } from '../training/coTrainingViews.ts';
import { labelDataset, needsFeatures } from '../training/labelDataset.ts';
import type { MethodSummary } from '../training/methods.ts';
import { WarningLog } from '../warningLog.ts';
import { needsNeighbors } from './collect.ts';
import { startOutput } from './output.ts';

/** Stitches every shard's neighbour lists into the n x k lists of the whole data set (shard order = row order). */
async function allNeighbors(ctx: StageContext, runId: string, collected: Collected, k: number): Promise<KnnResult> {
  const indices = new Int32Array(collected.n * k);
  const distances = new Float64Array(collected.n * k);
  for (let s = 0; s < collected.shards.length; s++) {
    const [shardIndices, shardDistances] = unpackArrays(await ctx.store.get(keys.shardNeighbors(runId, s)));
    indices.set(shardIndices as Int32Array, collected.shards[s].offset * k);
    distances.set(shardDistances as Float64Array, collected.shards[s].offset * k);
  }
  return { n: collected.n, k, indices, distances };
}

function affinityOf(options: RunOptions, lists: KnnResult | undefined): Graph | undefined {
  const { method, kernel, gamma } = options;
  if (!isGraphMethod(method)) return undefined;
  if (kernel === 'rbf' || !lists) return undefined; // dense: built from the features by labelDataset (small n only)
  if (kernel === 'knn') return connectivityFromNeighbors(lists);
  return rbfWeightsFromNeighbors(lists, gamma === 'auto' ? medianHeuristicGamma(lists) : gamma);
}

/**
 * propagate (reduce step): assembles the CSR graph from the neighbor lists and runs label propagation or
 * spreading over it, or runs self-/co-training over the features; writes the per-row outcome, one part per shard.
 * Where one process would not fit, label spreading / propagation over the kNN graph fans out instead (edges,
 * graph, degrees, iterate, converge and result stages; propagationFanOut.ts).
 */
export async function propagateStage(
  ctx: StageContext,
  task: TaskMessage,
): Promise<{ tasks?: TaskMessage[]; reduce?: TaskMessage[] }> {
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  // Cell-range partitions were fixed by the lists step, whose gather tasks then kept the lists by range only.
  if (
    run.partitions !== undefined ||
    fansOutPropagation(run.options, collected.n, collected.classes.length, process.env, run.host)
  ) {
    // Otherwise gather kept each range's lists only for a dataset version (stages/gather.ts).
    const byRangeKept = !run.neighbors?.queriesRouted || run.versioned;
    const partitions =
      run.partitions ??
      (byRangeKept
        ? choosePartitions(run, collected.shards.length)
        : { by: 'shards' as const, count: collected.shards.length });
    await updateRun(ctx.store, task.runId, (record) => {
      record.stage = 'edges';
      record.partitions = partitions;
    });
    return {
      tasks: Array.from({ length: partitions.count }, (_, partition) => taskMessage(task.runId, 'edges', 0, partition)),
    };
  }
  const lists = needsNeighbors(run.options.method, run.options.kernel)
    ? await allNeighbors(ctx, run.runId, collected, run.options.neighbors)
    : undefined;
  // Propagation over the kNN graph needs the labels alone (collect's labels.bin), not the n x d features.
  const withFeatures = needsFeatures(run.options, lists !== undefined && run.options.kernel !== 'rbf');
  const rows = withFeatures ? await loadAllRows(ctx, task.runId, collected) : undefined;
  const y = rows?.y ?? (await readCollectedLabels(ctx, task.runId));
  const origins = await readCollectedOrigins(ctx, task.runId);
  // --gamma auto: the median heuristic over the kNN lists (for the dense rbf kernel, found here: n is small).
  const gamma =
    usesGamma(run.options) && run.options.gamma === 'auto'
      ? medianHeuristicGamma(lists ?? knnSelfSearch(rows!.X, run.options.neighbors))
      : run.options.gamma;
  const options = { ...run.options, gamma };
  const affinity = affinityOf(options, lists);
  const views = options.method === 'co-training' ? resolveViews(options.views, collected.featureNames) : undefined;
  const warnings = new WarningLog();
  const result = labelDataset(
    {
      ...(rows ? { X: rows.X } : {}),
      y,
      classes: collected.classes,
      source: run.dataset,
      ...(affinity ? { affinity: () => affinity } : {}),
      ...(views ? { views: views.columns } : {}),
    },
    options,
    warnings.add,
  );
  const graphMethod = isGraphMethod(options.method);
  const unreached = graphMethod ? countUnreached(result.outcome) : 0;
  const fixedGammaWarning = usesGamma(run.options) ? gammaWarning(run.options, unreached, collected.n) : undefined;
  if (fixedGammaWarning) warnings.add(fixedGammaWarning);
  markOrigins(result.outcome, origins);
  await writeShardResults(ctx, task.runId, collected, result.outcome);
  if (graphMethod && run.versioned) {
    // A run that publishes a dataset version keeps its label distributions for the version's model.
    const k = collected.classes.length;
    await mapConcurrently(collected.shards, ({ offset, rows: count }, s) => {
      const part = result.probabilities.subarray(offset * k, (offset + count) * k);
      return ctx.store.put(keys.shardDistributions(task.runId, s), packArrays([part]));
    });
  }
  const summary: MethodSummary = {
    convergence: result.convergence,
    ...(graphMethod
      ? { unreached: { rows: unreached, ...(unreached > 0 ? { hint: unreachedHint(run.options) } : {}) } }
      : {}),
    ...(views ? { views: { a: views.names[0], b: views.names[1], byDefault: views.byDefault } } : {}),
    ...(usesGamma(run.options) ? { gamma: { value: gamma as number, auto: run.options.gamma === 'auto' } } : {}),
    warnings: warnings.list(),
  };
  for (const warning of summary.warnings) ctx.log.warn(warning, { runId: run.runId });
  await writeJson(ctx.store, keys.resultSummary(task.runId), summary);
  return startOutput(ctx, task.runId, collected.shards.length);
}
