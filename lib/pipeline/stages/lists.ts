import { updateRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/**
 * lists (reduce step, approximate neighbours, after every cell range's neighbors task): fans out one gather task
 * per shard, which assembles the shard's neighbors.bin from the ranges' lists. A reduce step (run once by
 * reduceOnce), so that duplicated range tasks do not fan the gather tasks out again.
 */
export async function listsStage(ctx: StageContext, task: TaskMessage): Promise<{ tasks: TaskMessage[] }> {
  const collected = await readCollected(ctx, task.runId);
  await updateRun(ctx.store, task.runId, (run) => {
    run.stage = 'gather';
  });
  return { tasks: collected.shards.map((_, shard) => taskMessage(task.runId, 'gather', task.round, shard)) };
}
