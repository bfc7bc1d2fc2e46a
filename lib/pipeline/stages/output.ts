import { writeVersionShardParts } from '../datasets/datasetVersions.ts';
import { afterOutcome } from '../datasets/versionComparison.ts';
import { writeShardOutput } from '../outputs/outputParts.ts';
import { readShardResult } from '../outputs/shardResults.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { loadShardIds, readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/** Fans out the output tasks once every shard's result part is written (propagate, or its fanned-out form). */
export async function startOutput(ctx: StageContext, runId: string, shards: number) {
  await updateRun(ctx.store, runId, (record) => {
    record.stage = 'output';
    record.round = 0;
  });
  return { tasks: Array.from({ length: shards }, (_, s) => taskMessage(runId, 'output', 0, s)) };
}

/**
 * output (shard task): the shard's parts of labels.csv and rejected.csv and its summary (outputParts.ts), from
 * its ids and its result part; finalize then assembles the files without holding the rows.
 */
export async function outputStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const ids = await loadShardIds(ctx, task.runId, collected, task.shard);
  const outcome = await readShardResult(ctx, task.runId, task.shard);
  await writeShardOutput(ctx, task.runId, run.options, collected, task.shard, ids, outcome);
  await writeVersionShardParts(ctx, run, collected, task.shard, ids, outcome);
  await completeShardTask(ctx, task, collected.shards.length, afterOutcome(run), {
    ms: Math.round(performance.now() - started),
    rows: ids.length,
  });
}
