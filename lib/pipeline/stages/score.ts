import { argmaxRow } from '../../algorithms/classifier.ts';
import { selectPseudoLabels } from '../../algorithms/selfTraining.ts';
import { selectRows } from '../../data/featureMatrix.ts';
import { loadShardRows, readCollected } from '../collected.ts';
import { completeShardTask } from '../fanIn.ts';
import { keys } from '../keys.ts';
import { effectiveThreshold } from '../runOptions.ts';
import { readRun } from '../runRecord.ts';
import { packCandidates, readRoundModel, readRoundState } from '../selfTrainingRounds.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * score (shard task, self-training round r): predicts this shard's still unlabelled rows with the round's model
 * and keeps the ones the selection rule accepts within the shard (a superset of what it accepts over all
 * shards: see selectPseudoLabels), for the reduce step to merge.
 */
export async function scoreStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const shard = await loadShardRows(ctx, task.runId, task.shard, collected);
  const state = await readRoundState(ctx, task.runId, task.round - 1);
  const model = await readRoundModel(ctx, task.runId, task.round);
  const offset = collected.shards[task.shard].offset;
  const local: number[] = [];
  for (let i = 0; i < shard.X.n; i++) if (state.labeledIter[offset + i] < 0) local.push(i);
  const unlabelled = Int32Array.from(local);
  const proba = model.predictProba(selectRows(shard.X, unlabelled));
  const k = model.classes.length;
  const pred = new Int32Array(unlabelled.length);
  const confidence = new Float64Array(unlabelled.length);
  for (let s = 0; s < unlabelled.length; s++) {
    pred[s] = argmaxRow(proba, s, k);
    confidence[s] = proba[s * k + pred[s]];
  }
  const { criterion, kBest } = run.options;
  const chosen = selectPseudoLabels(pred, confidence, k, {
    criterion,
    threshold: effectiveThreshold(run.options),
    kBest,
  });
  await ctx.store.put(
    keys.shardScores(task.runId, task.round, task.shard),
    packCandidates({
      rows: Int32Array.from(chosen, (s) => offset + unlabelled[s]),
      labels: Int32Array.from(chosen, (s) => model.classes[pred[s]]),
      confidence: Float64Array.from(chosen, (s) => confidence[s]),
    }),
  );
  await completeShardTask(ctx, task, collected.shards.length, 'reduce', {
    ms: Math.round(performance.now() - started),
    rows: chosen.length,
  });
}
