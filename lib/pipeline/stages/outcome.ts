import type { SoftmaxModelJson } from '../../algorithms/softmaxRegression.ts';
import { SoftmaxRegression } from '../../algorithms/softmaxRegression.ts';
import { UNLABELLED } from '../../data/dataset.ts';
import { writeVersionShardParts } from '../datasets/datasetVersions.ts';
import { afterOutcome } from '../datasets/versionComparison.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { writeShardOutput } from '../outputs/outputParts.ts';
import { markOrigins, outcomeFromRounds, probabilitiesOverAllClasses } from '../outputs/rowOutcome.ts';
import { writeShardResult } from '../outputs/shardResults.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { loadShardRows, readCollected, readCollectedOrigins } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';
import { shardStateAfter } from '../training/selfTrainingRounds.ts';

/**
 * outcome (shard task, after the last self-training round r): the final model's probabilities for the shard's
 * rows (scikit-learn's predict_proba after fit), the shard's result part and its output parts (outputParts.ts): given labels stay given, pseudo
 * labels keep their round, every other row gets its most probable class with source none.
 */
export async function outcomeStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const collected = await readCollected(ctx, task.runId);
  const shard = await loadShardRows(ctx, task.runId, task.shard, collected);
  const state = await shardStateAfter(ctx, task.runId, collected, task.shard, task.round);
  const model = SoftmaxRegression.fromJSON(await readJson<SoftmaxModelJson>(ctx.store, keys.finalModel(task.runId)));
  const k = collected.classes.length;
  const full = probabilitiesOverAllClasses(model.predictProba(shard.X), model.classes, k);
  // The labels training saw: the given rows, the only ones labelled in round 0.
  const trainingY = Int32Array.from(state.labeledIter, (iter, i) => (iter === 0 ? state.transduction[i] : UNLABELLED));
  const outcome = outcomeFromRounds(trainingY, state.labeledIter, state.transduction, full, k);
  const { offset, rows } = collected.shards[task.shard];
  markOrigins(outcome, await readCollectedOrigins(ctx, task.runId, offset, offset + rows));
  await writeShardResult(ctx, task.runId, task.shard, outcome);
  const run = await readRun(ctx.store, task.runId);
  await writeShardOutput(ctx, task.runId, run.options, collected, task.shard, shard.ids, outcome);
  await writeVersionShardParts(ctx, run, collected, task.shard, shard.ids, outcome);
  await completeShardTask(ctx, task, collected.shards.length, afterOutcome(run), {
    ms: Math.round(performance.now() - started),
    rows: shard.X.n,
  });
}
