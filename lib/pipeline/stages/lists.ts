import { choosePartitions } from '../propagation/partitionGraph.ts';
import { fansOutPropagation } from '../propagation/propagationFanOut.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/**
 * lists (reduce step, approximate neighbours, after every cell range's neighbors task): fans out one gather task
 * per shard, which assembles the shard's neighbors.bin from the ranges' lists. A reduce step (run once by
 * reduceOnce), so that duplicated range tasks do not fan the gather tasks out again. A run whose propagation
 * fans out by cell range reads the ranges' lists as they are (edges tasks), so it skips gather (unless it
 * publishes a dataset version, whose index keeps the shards' lists): the partitions are fixed here (run.json)
 * and the propagate step goes on with them.
 */
export async function listsStage(
  ctx: StageContext,
  task: TaskMessage,
): Promise<{ tasks?: TaskMessage[]; reduce?: TaskMessage[] }> {
  const collected = await readCollected(ctx, task.runId);
  const run = await readRun(ctx.store, task.runId);
  const partitions = choosePartitions(run, collected.shards.length);
  // A run that publishes a version keeps its shards' lists in the version's index (incremental runs build on them).
  const skipsGather = partitions.by === 'cell ranges' && !run.versioned;
  if (skipsGather && fansOutPropagation(run.options, collected.n, collected.classes.length)) {
    await updateRun(ctx.store, task.runId, (record) => {
      record.stage = 'propagate';
      record.partitions = partitions;
    });
    return { reduce: [taskMessage(task.runId, 'propagate', task.round, 0)] };
  }
  await updateRun(ctx.store, task.runId, (run) => {
    run.stage = 'gather';
  });
  return { tasks: collected.shards.map((_, shard) => taskMessage(task.runId, 'gather', task.round, shard)) };
}
