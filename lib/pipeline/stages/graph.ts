import { readCollected } from '../collected.ts';
import { updateRun } from '../runRecord.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/** graph (reduce step, after every edges task): the edges are bucketed by destination; fans out the degrees tasks. */
export async function graphStage(ctx: StageContext, task: TaskMessage): Promise<{ tasks: TaskMessage[] }> {
  const collected = await readCollected(ctx, task.runId);
  await updateRun(ctx.store, task.runId, (record) => {
    record.stage = 'degrees';
  });
  return { tasks: collected.shards.map((_, shard) => taskMessage(task.runId, 'degrees', 0, shard)) };
}
