import { selectPseudoLabels } from '../../algorithms/selfTraining.ts';
import { UNLABELLED } from '../../data/dataset.ts';
import { selectRows } from '../../data/featureMatrix.ts';
import { argmaxRow } from '../../linalg/argmaxRow.ts';
import { keys } from '../keys.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { effectiveThreshold } from '../runOptions.ts';
import { loadShardRows, readCollected, type ShardRows } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';
import {
  type Candidates,
  packCandidates,
  readRoundModel,
  shardStateAfter,
  writeShardState,
} from '../training/selfTrainingRounds.ts';

/** The shard's rows at `local` (ascending) as candidates: global rows, classes, probabilities, features. */
function candidatesAt(
  shard: ShardRows,
  offset: number,
  local: Int32Array,
  labels: Int32Array,
  confidence: Float64Array,
): Candidates {
  const { d } = shard.X;
  const data = new Float32Array(local.length * d);
  for (let t = 0; t < local.length; t++) {
    data.set(shard.X.data.subarray(local[t] * d, (local[t] + 1) * d), t * d);
  }
  const rows = Int32Array.from(local, (i) => offset + i);
  return { set: { rows, labels, rounds: new Int32Array(local.length), X: { data, n: local.length, d } }, confidence };
}

/** Round 0: the shard's given labels with their features, for the reduce step's first fit. */
function givenLabels(shard: ShardRows, offset: number): Candidates {
  const local: number[] = [];
  for (let i = 0; i < shard.y.length; i++) if (shard.y[i] !== UNLABELLED) local.push(i);
  const rows = Int32Array.from(local);
  return candidatesAt(
    shard,
    offset,
    rows,
    Int32Array.from(rows, (i) => shard.y[i]),
    new Float64Array(rows.length).fill(1),
  );
}

/**
 * score (shard task, self-training round r). Round 0 sends the shard's given labels with their features to the
 * reduce step. Round r >= 1 first records the shard's state after round r-1 (for round r+1 and the outcome
 * task), then predicts its still unlabelled rows with the round's model and keeps the ones the selection rule
 * accepts within the shard (a superset of what it accepts over all shards: see selectPseudoLabels), with their
 * features, for the reduce step to merge.
 */
export async function scoreStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const shard = await loadShardRows(ctx, task.runId, task.shard, collected);
  const offset = collected.shards[task.shard].offset;
  let candidates: Candidates;
  if (task.round === 0) candidates = givenLabels(shard, offset);
  else {
    const state = await shardStateAfter(ctx, task.runId, collected, task.shard, task.round - 1);
    await writeShardState(ctx, task.runId, task.round - 1, task.shard, state);
    const model = await readRoundModel(ctx, task.runId, task.round);
    const local: number[] = [];
    for (let i = 0; i < shard.X.n; i++) if (state.labeledIter[i] < 0) local.push(i);
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
    const threshold = effectiveThreshold(run.options);
    const chosen = selectPseudoLabels(pred, confidence, k, { criterion, threshold, kBest });
    candidates = candidatesAt(
      shard,
      offset,
      Int32Array.from(chosen, (s) => unlabelled[s]),
      Int32Array.from(chosen, (s) => model.classes[pred[s]]),
      Float64Array.from(chosen, (s) => confidence[s]),
    );
  }
  await ctx.store.put(keys.shardScores(task.runId, task.round, task.shard), packCandidates(candidates));
  await completeShardTask(ctx, task, collected.shards.length, 'reduce', {
    ms: Math.round(performance.now() - started),
    rows: candidates.set.rows.length,
  });
}
