import { ivfSearch } from '../../graph/ivf/ivfSearch.ts';
import { probeCells } from '../../graph/ivf/probeCells.ts';
import { emptyKnnResult, type KnnResult, knnSearch, mergeTopK } from '../../graph/knnSearch.ts';
import type { DistanceKernel } from '../../linalg/distanceTiles.ts';
import { packArrays } from '../binaryArrays.ts';
import { type Collected, loadShardRows, readCollected, type ShardRows } from '../collected.ts';
import { completeShardTask } from '../fanIn.ts';
import { readIvfModel, readShardCells } from '../ivfObjects.ts';
import { keys } from '../keys.ts';
import { planNeighbors } from '../neighborsPlan.ts';
import { readRun } from '../runRecord.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * neighbors (shard task): the k nearest neighbours of this shard's points among all points, one reference
 * shard at a time, top-k lists merged (ties: lower global index), so the result is the same for every shard
 * count. Exact mode compares with every row; approx mode (IVF) with the rows of the cells each point probes.
 * Memory: this shard, one reference shard (or its cells) and the n_s x k lists.
 */
export async function neighborsStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const plan = run.neighbors ?? planNeighbors(run.options, collected.n);
  const query = await loadShardRows(ctx, task.runId, task.shard, collected);
  const k = run.options.neighbors;
  const lists =
    plan.mode === 'approx'
      ? await approximateLists(ctx, task.runId, collected, query, k)
      : await exactLists(ctx, task, collected, query, k, plan.kernel);
  await ctx.store.put(keys.shardNeighbors(task.runId, task.shard), packArrays([lists.indices, lists.distances]));
  await completeShardTask(ctx, task, collected.shards.length, 'propagate', {
    ms: Math.round(performance.now() - started),
    rows: query.X.n,
  });
}

async function exactLists(
  ctx: StageContext,
  task: TaskMessage,
  collected: Collected,
  query: ShardRows,
  k: number,
  kernel: DistanceKernel,
): Promise<KnnResult> {
  const lists = emptyKnnResult(query.X.n, k);
  for (let t = 0; t < collected.shards.length; t++) {
    const reference = t === task.shard ? query : await loadShardRows(ctx, task.runId, t, collected);
    if (reference.X.n === 0) continue;
    knnSearch(query.X, reference.X, k, { into: lists, referenceOffset: collected.shards[t].offset, kernel });
  }
  return lists;
}

/** IVF search (Jegou et al. 2011, without quantisation): each point's probed cells, shard by shard. */
async function approximateLists(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  query: ShardRows,
  k: number,
): Promise<KnnResult> {
  const { model, cellSizes } = await readIvfModel(ctx, runId);
  const { probes } = probeCells(model, query.X, { minMembers: k, cellSizes });
  let lists = emptyKnnResult(query.X.n, k);
  for (let t = 0; t < collected.shards.length; t++) {
    if (collected.shards[t].rows === 0) continue;
    const cells = await readShardCells(ctx, runId, t, model);
    lists = mergeTopK(lists, ivfSearch(query.X, probes, [cells], k));
  }
  return lists;
}
