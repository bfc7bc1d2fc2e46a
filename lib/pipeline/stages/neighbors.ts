import { emptyKnnResult, knnSearch } from '../../graph/knnSearch.ts';
import { packArrays } from '../binaryArrays.ts';
import { loadShardRows, readCollected } from '../collected.ts';
import { completeShardTask } from '../fanIn.ts';
import { keys } from '../keys.ts';
import { readRun } from '../runRecord.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * neighbors (shard task): the exact k nearest neighbours of this shard's points among all points, one
 * reference shard at a time, top-k lists merged in place (ties: lower global index), so the result is the same
 * for every shard count. Memory: this shard, one reference shard and the n_s x k lists.
 */
export async function neighborsStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const k = run.options.neighbors;
  const query = await loadShardRows(ctx, task.runId, task.shard, collected);
  const lists = emptyKnnResult(query.X.n, k);
  for (let t = 0; t < collected.shards.length; t++) {
    const reference = t === task.shard ? query : await loadShardRows(ctx, task.runId, t, collected);
    if (reference.X.n === 0) continue;
    knnSearch(query.X, reference.X, k, { into: lists, referenceOffset: collected.shards[t].offset });
  }
  await ctx.store.put(keys.shardNeighbors(task.runId, task.shard), packArrays([lists.indices, lists.distances]));
  await completeShardTask(ctx, task, collected.shards.length, 'propagate', {
    ms: Math.round(performance.now() - started),
    rows: query.X.n,
  });
}
