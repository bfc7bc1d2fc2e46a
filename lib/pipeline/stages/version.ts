import { writeMissingShardRows } from '../datasets/datasetVersions.ts';
import { comparedRows, compareTaskCount, fixBase } from '../datasets/versionComparison.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/**
 * version (reduce step of a run that publishes a dataset version, after the outcome's shard tasks): fixes the
 * version the run compares against, writes any shard's rows by bucket that its task did not, and fans out the
 * compare tasks (versionComparison.ts).
 */
export async function versionStage(ctx: StageContext, task: TaskMessage): Promise<{ tasks: TaskMessage[] }> {
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  await writeMissingShardRows(ctx, run, collected);
  await fixBase(ctx, run);
  const tasks = compareTaskCount(await comparedRows(ctx, run, collected), collected.shards.length);
  await updateRun(ctx.store, task.runId, (record) => {
    record.stage = 'compare';
    record.round = 0;
  });
  return { tasks: Array.from({ length: tasks }, (_, t) => taskMessage(task.runId, 'compare', 0, t)) };
}
