import { emptyKnnResult } from '../../graph/knnSearch.ts';
import { packArrays } from '../binaryArrays.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { recordShardLists } from '../incremental/incrementalIvf.ts';
import { keys } from '../keys.ts';
import { readRangeLists } from '../neighbors/ivfObjects.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * gather (shard task, approximate neighbours, after every range's neighbors task): assembles this shard's
 * neighbour lists from the parts the range tasks wrote for it into neighbors.bin, the shard's rows in row order,
 * as exact mode writes it for propagation. Reads only this shard's lists.
 */
export async function gatherStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const ranges = run.neighbors?.ranges;
  if (ranges === undefined) throw new RangeError(`run ${task.runId} has no cell ranges to gather`);
  const { rows, offset } = collected.shards[task.shard];
  const k = run.options.neighbors;
  const lists = emptyKnnResult(rows, k);
  const placed = new Uint8Array(rows);
  let count = 0;
  const parts = await mapConcurrently(
    Array.from({ length: ranges }, (_, r) => r),
    (r) => readRangeLists(ctx, task.runId, r, task.shard),
  );
  for (const { members, lists: part } of parts) {
    for (let i = 0; i < members.length; i++) {
      const row = members[i] - offset;
      if (!(row >= 0 && row < rows) || placed[row] === 1) {
        throw new Error(`neighbour lists of shard ${task.shard}: global row ${members[i]} out of place or repeated`);
      }
      placed[row] = 1;
      count++;
      lists.indices.set(part.indices.subarray(i * k, (i + 1) * k), row * k);
      lists.distances.set(part.distances.subarray(i * k, (i + 1) * k), row * k);
    }
  }
  if (count !== rows) throw new Error(`neighbour lists of shard ${task.shard}: ${count} of its ${rows} rows found`);
  await recordShardLists(ctx, run, collected, task.shard);
  await ctx.store.put(keys.shardNeighbors(task.runId, task.shard), packArrays([lists.indices, lists.distances]));
  await completeShardTask(ctx, task, collected.shards.length, 'propagate', {
    ms: Math.round(performance.now() - started),
    rows,
  });
}
