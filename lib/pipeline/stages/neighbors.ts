import type { IvfCells } from '../../graph/ivf/ivfIndex.ts';
import { ivfSearch } from '../../graph/ivf/ivfSearch.ts';
import { probeCells } from '../../graph/ivf/probeCells.ts';
import { emptyKnnResult, type KnnResult, knnSearch } from '../../graph/knnSearch.ts';
import type { DistanceKernel } from '../../linalg/distanceTiles.ts';
import { packArrays } from '../binaryArrays.ts';
import { type Collected, loadShardRows, readCollected, type ShardRows } from '../collected.ts';
import { completeShardTask } from '../fanIn.ts';
import { readIvfModel, readShardCells, readShardNearestCells } from '../ivfObjects.ts';
import { keys } from '../keys.ts';
import { planNeighbors } from '../neighborsPlan.ts';
import { readRun } from '../runRecord.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * neighbors (shard task): the k nearest neighbours of this shard's points among all points, one reference
 * shard at a time, top-k lists merged (ties: lower global index), so the result is the same for every shard
 * count. Exact mode compares with every row; approx mode (IVF) with the rows of the cells each point probes.
 * Memory: this shard, one reference shard (or a group of shards' cells, CELL_GROUP_BYTES) and the n_s x k lists.
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
      ? await approximateLists(ctx, task, collected, query, k)
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

/**
 * Reference cells searched together, in bytes of vectors: a cell's members from every shard of a group are
 * packed into one tile, so few large groups keep the SIMD tiles full (with one shard at a time, a 30-shard run
 * compared each query with blocks of about 17 members). 256 MiB holds 1,000,000 x 64 Float32 rows.
 */
export const CELL_GROUP_BYTES = 256 * 2 ** 20;

/** IVF search (Jegou et al. 2011, without quantisation): each point's probed cells, in groups of shards. */
async function approximateLists(
  ctx: StageContext,
  { runId, shard }: TaskMessage,
  collected: Collected,
  query: ShardRows,
  k: number,
): Promise<KnnResult> {
  const { model, cellSizes, codes } = await readIvfModel(ctx, runId);
  const nearest = await readShardNearestCells(ctx, runId, shard);
  const { probes } = probeCells(model, query.X, { minMembers: k, cellSizes, nearest });
  let lists = emptyKnnResult(query.X.n, k);
  let group: IvfCells[] = [];
  let groupBytes = 0;
  const searchGroup = () => {
    // All of the shard's queries in one chunk (ivfSearch's default): each cell's members are packed once per group.
    if (group.length > 0) lists = ivfSearch(query.X, probes, group, k, { continuing: lists, codes });
    group = [];
    groupBytes = 0;
  };
  for (let t = 0; t < collected.shards.length; t++) {
    if (collected.shards[t].rows === 0) continue;
    const cells = await readShardCells(ctx, runId, t, model, codes);
    if (groupBytes > 0 && groupBytes + cells.vectors.byteLength > CELL_GROUP_BYTES) searchGroup();
    group.push(cells);
    groupBytes += cells.vectors.byteLength;
  }
  searchGroup();
  return lists;
}
