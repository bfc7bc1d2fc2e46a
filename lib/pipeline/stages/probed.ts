import { updateRun } from '../run/runRecord.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/**
 * probed (reduce step, after every probes task): every shard's queries are routed to the cell ranges they probe,
 * so the neighbors tasks can start, one per cell range (its number in `shard`). A reduce step (run once by
 * reduceOnce), so that duplicated probes tasks do not fan the neighbors tasks out twice.
 */
export async function probedStage(ctx: StageContext, task: TaskMessage): Promise<{ tasks: TaskMessage[] }> {
  const run = await updateRun(ctx.store, task.runId, (record) => {
    record.stage = 'neighbors';
  });
  const ranges = run.neighbors?.ranges;
  if (run.neighbors?.mode !== 'approx' || ranges === undefined) {
    throw new RangeError(`run ${task.runId} has no cell ranges to search`);
  }
  return { tasks: Array.from({ length: ranges }, (_, range) => taskMessage(task.runId, 'neighbors', 0, range)) };
}
