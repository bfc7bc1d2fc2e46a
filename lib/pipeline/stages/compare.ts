import { comparedRows, compareShare, compareTaskCount } from '../datasets/versionComparison.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * compare (shard task `shard` of compareTaskCount): joins its share of the run's version buckets and compares
 * them with the base version's (versionComparison.ts); the last one to finish starts finalize.
 */
export async function compareStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const rows = await comparedRows(ctx, run, collected);
  const tasks = compareTaskCount(rows, collected.shards.length);
  await compareShare(ctx, run, collected, rows, task.shard, tasks);
  await completeShardTask(ctx, task, tasks, 'finalize', { ms: Math.round(performance.now() - started) });
}
