import { selectPseudoLabels } from '../../algorithms/selfTraining.ts';
import type { SoftmaxRegression } from '../../algorithms/softmaxRegression.ts';
import { writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { type RunRecord, readRun, updateRun } from '../run/runRecord.ts';
import { effectiveMaxIter, effectiveThreshold, type RunOptions } from '../runOptions.ts';
import { type Collected, readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';
import type { MethodSummary } from '../training/methods.ts';
import {
  concatSets,
  fitOnLabelled,
  type LabelledSet,
  mergeSets,
  packLabelledSet,
  readLabelledSet,
  readRoundModel,
  subset,
  unpackCandidates,
  writeRoundModel,
  writeShardLabelled,
} from '../training/selfTrainingRounds.ts';
import { WarningLog } from '../warningLog.ts';

/** The candidates of round r of every shard, in shard order (so in row order), with their probabilities. */
async function mergeCandidates(ctx: StageContext, runId: string, collected: Collected, round: number) {
  const sets: LabelledSet[] = [];
  const confidences: Float64Array[] = [];
  for (let s = 0; s < collected.shards.length; s++) {
    const part = unpackCandidates(await ctx.store.get(keys.shardScores(runId, round, s)), collected.d);
    sets.push(part.set);
    confidences.push(part.confidence);
  }
  const set = concatSets(sets, collected.d);
  const confidence = new Float64Array(set.rows.length);
  let t = 0;
  for (const part of confidences) {
    confidence.set(part, t);
    t += part.length;
  }
  return { set, confidence };
}

/**
 * Round 0: the given labels of every shard, all of them (a --holdout's splits ran in the collect step,
 * holdoutRun.ts, and only give the verdict): the first labelled set.
 */
async function startRounds(ctx: StageContext, run: RunRecord, collected: Collected): Promise<LabelledSet> {
  return (await mergeCandidates(ctx, run.runId, collected, 0)).set;
}

/** Round r >= 1: the labelled set of round r-1, and the candidates of round r the selection rule accepts. */
async function mergeRound(ctx: StageContext, run: RunRecord, collected: Collected, round: number) {
  const previous = await readLabelledSet(ctx, keys.roundState(run.runId, round - 1), collected.d);
  const candidates = await mergeCandidates(ctx, run.runId, collected, round);
  const { criterion, kBest } = run.options;
  const chosen = selectPseudoLabels(candidates.set.labels, candidates.confidence, collected.classes.length, {
    criterion,
    threshold: effectiveThreshold(run.options),
    kBest,
  });
  const added = subset(candidates.set, chosen);
  added.rounds.fill(round);
  return { previous, added };
}

/**
 * The self-training fit of round r: the stage named `reduce` on the wire (DESIGN.md sections 3 and 4 "Rounds"),
 * a reduce step (once per run and round, on the reduce queue) like plan or finalize. It merges the confident pseudo
 * labels of round r into the labelled set (round 0: the given labels), then either fits the model of round r+1
 * and fans out its score tasks, or, when the round added nothing, every row is labelled or max_iter (`--max-iter`, default 10) is reached
 * (scikit-learn's termination conditions, in its order), fits the final model and fans out the outcome tasks,
 * which write the per-row result shard by shard. It holds the labelled rows only (O(labelled x d)), never all.
 */
export async function selfTrainingFitStage(
  ctx: StageContext,
  task: TaskMessage,
): Promise<{ tasks?: TaskMessage[]; reduce?: TaskMessage[] }> {
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const r = task.round;
  let labelled: LabelledSet;
  let added: number;
  if (r === 0) {
    labelled = await startRounds(ctx, run, collected);
    added = -1;
    await writeShardLabelled(ctx, task.runId, collected, 0, labelled);
  } else {
    const round = await mergeRound(ctx, run, collected, r);
    labelled = mergeSets(round.previous, round.added);
    added = round.added.rows.length;
    await writeShardLabelled(ctx, task.runId, collected, r, round.added);
  }
  await ctx.store.put(keys.roundState(task.runId, r), packLabelledSet(labelled));

  let termination: string | undefined;
  if (added === 0) termination = 'no_change';
  if (r === effectiveMaxIter(run.options)) termination = 'max_iter';
  if (labelled.rows.length === collected.n) termination = 'all_labeled';
  const warnings = new WarningLog();
  const warn = warnings.add;

  if (termination === undefined) {
    const model = fitOnLabelled(labelled, warn);
    await writeRoundModel(ctx, task.runId, r + 1, model);
    await updateRun(ctx.store, task.runId, (record) => {
      record.stage = 'score';
      record.round = r + 1;
    });
    return { tasks: collected.shards.map((_, s) => taskMessage(task.runId, 'score', r + 1, s)) };
  }

  if (termination === 'no_change' && r === 1) warn(nothingAddedWarning(run.options));
  // The model of round r was fitted on exactly this set when round r added nothing.
  const model: SoftmaxRegression =
    termination === 'no_change' ? await readRoundModel(ctx, task.runId, r) : fitOnLabelled(labelled, warn);
  await writeJson(ctx.store, keys.finalModel(task.runId), model.toJSON());
  const summary: MethodSummary = {
    convergence: {
      nIter: r,
      converged: termination !== 'max_iter',
      terminationReason: termination,
      finalDelta: null,
      deltas: [],
    },
    warnings: warnings.list(),
  };
  await writeJson(ctx.store, keys.resultSummary(task.runId), summary);
  await updateRun(ctx.store, task.runId, (record) => {
    record.stage = 'outcome';
    record.round = r;
  });
  return { tasks: collected.shards.map((_, s) => taskMessage(task.runId, 'outcome', r, s)) };
}

/**
 * Self-training whose first round added nothing ends with the given labels alone (scikit-learn's no_change after
 * 1 iteration): say why and what would help. The classifier's L2 penalty (C = 1, LogisticRegression's) is
 * measured in the features' units, so on features far from unit scale no prediction may reach the threshold
 * (digits scaled by 1e-6 or 1e30: none does, in scikit-learn as here).
 */
export function nothingAddedWarning(options: RunOptions): string {
  const scaleHint =
    options.scale === 'none'
      ? "; the classifier (logistic regression, C = 1) depends on the features' scale: --scale standard puts them on one"
      : '';
  return (
    `self-training added no row: no unlabelled row was predicted above --threshold ${effectiveThreshold(options)} ` +
    `in round 1, so only the given labels were learnt from (try a lower --threshold${scaleHint})`
  );
}
