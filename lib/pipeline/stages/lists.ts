import { choosePartitions } from '../propagation/partitionGraph.ts';
import { fansOutPropagation } from '../propagation/propagationFanOut.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/**
 * lists (reduce step, approximate neighbours, after every cell range's neighbors task): fans out one gather task
 * per shard, which merges its rows' partial lists (one per range they probe) into their lists. A reduce step (run
 * once by reduceOnce), so that duplicated range tasks do not fan the gather tasks out again. A run whose
 * propagation fans out by cell range reads its lists by range (edges tasks), not in shard order: the partitions
 * are fixed here (run.json), and gather then writes each range's rows' lists (ranges/<r>/<s>/neighbors.bin)
 * instead of the shard's neighbors.bin (both, in a run that publishes a dataset version: its index keeps them).
 * An incremental run whose range tasks wrote their final lists by range gathers them into neighbors.bin.
 */
export async function listsStage(
  ctx: StageContext,
  task: TaskMessage,
): Promise<{ tasks?: TaskMessage[]; reduce?: TaskMessage[] }> {
  const collected = await readCollected(ctx, task.runId);
  const run = await readRun(ctx.store, task.runId);
  const partitions = choosePartitions(run, collected.shards.length);
  const byRange = partitions.by === 'cell ranges' && !run.versioned;
  const fansOut =
    byRange && fansOutPropagation(run.options, collected.n, collected.classes.length, process.env, run.host);
  await updateRun(ctx.store, task.runId, (record) => {
    record.stage = 'gather';
    if (fansOut) record.partitions = partitions;
  });
  return { tasks: collected.shards.map((_, shard) => taskMessage(task.runId, 'gather', task.round, shard)) };
}
