import { partitionsOf } from '../propagation/partitionGraph.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/**
 * routed (reduce step, after every route task): every partition's buckets and boundary owners are written; fans
 * out the degrees tasks, one per partition. A reduce step (run once by reduceOnce), so that duplicated route
 * tasks do not fan the degrees tasks out again.
 */
export async function routedStage(ctx: StageContext, task: TaskMessage): Promise<{ tasks: TaskMessage[] }> {
  const { count } = partitionsOf(await readRun(ctx.store, task.runId));
  await updateRun(ctx.store, task.runId, (record) => {
    record.stage = 'degrees';
  });
  return { tasks: Array.from({ length: count }, (_, partition) => taskMessage(task.runId, 'degrees', 0, partition)) };
}
