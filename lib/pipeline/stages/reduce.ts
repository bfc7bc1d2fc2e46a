import { selectPseudoLabels } from '../../algorithms/selfTraining.ts';
import type { SoftmaxRegression } from '../../algorithms/softmaxRegression.ts';
import { type Collected, loadAllRows, readCollected } from '../collected.ts';
import { evaluateHoldout, hideLabels, restoreHeldOut, stratifiedHoldout } from '../holdout.ts';
import { writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { outcomeFromRounds, probabilitiesOverAllClasses } from '../rowOutcome.ts';
import { effectiveMaxIter, effectiveThreshold } from '../runOptions.ts';
import { type RunRecord, readRun, updateRun } from '../runRecord.ts';
import {
  fitOnLabelled,
  initialRoundState,
  type RoundState,
  readRoundModel,
  readRoundState,
  unpackCandidates,
  writeRoundModel,
  writeRoundState,
} from '../selfTrainingRounds.ts';
import { writeShardResults } from '../shardResults.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';
import { WarningLog } from '../warningLog.ts';
import type { MethodSummary } from './propagate.ts';

/** Merges the candidates of round r from every shard and applies the selection rule over all of them. */
async function mergeRound(ctx: StageContext, run: RunRecord, collected: Collected, round: number, state: RoundState) {
  const rows: number[] = [];
  const labels: number[] = [];
  const confidence: number[] = [];
  for (let s = 0; s < collected.shards.length; s++) {
    const part = unpackCandidates(await ctx.store.get(keys.shardScores(run.runId, round, s)));
    rows.push(...part.rows);
    labels.push(...part.labels);
    confidence.push(...part.confidence);
  }
  const { criterion, kBest } = run.options;
  const threshold = effectiveThreshold(run.options);
  const chosen = selectPseudoLabels(Int32Array.from(labels), Float64Array.from(confidence), collected.classes.length, {
    criterion,
    threshold,
    kBest,
  });
  for (const c of chosen) {
    state.transduction[rows[c]] = labels[c];
    state.labeledIter[rows[c]] = round;
  }
  return chosen.length;
}

/**
 * reduce (reduce step of self-training round r; DESIGN.md section 4 "Rounds"): merges the confident pseudo
 * labels of round r into the state, then either fits the model of round r+1 and fans out its score tasks, or,
 * when the round added nothing, every row is labelled or max_iter (`--max-iter`, default 10) is reached (scikit-learn's termination
 * conditions, in its order), fits the final model and writes the outcome.
 */
export async function reduceStage(
  ctx: StageContext,
  task: TaskMessage,
): Promise<{ tasks?: TaskMessage[]; reduce?: TaskMessage[] }> {
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const all = await loadAllRows(ctx, task.runId, collected);
  const held =
    run.options.holdout > 0 ? stratifiedHoldout(all.y, run.options.holdout, run.options.seed) : new Int32Array(0);
  const trainingY = held.length > 0 ? hideLabels(all.y, held) : all.y;
  const r = task.round;
  const state = r === 0 ? initialRoundState(trainingY) : await readRoundState(ctx, task.runId, r - 1);
  const added = r === 0 ? -1 : await mergeRound(ctx, run, collected, r, state);
  await writeRoundState(ctx, task.runId, r, state);

  let labelled = 0;
  for (const iter of state.labeledIter) if (iter >= 0) labelled++;
  let termination: string | undefined;
  if (added === 0) termination = 'no_change';
  if (r === effectiveMaxIter(run.options)) termination = 'max_iter';
  if (labelled === collected.n) termination = 'all_labeled';
  const warnings = new WarningLog();
  const warn = warnings.add;

  if (termination === undefined) {
    const model = fitOnLabelled(all.X, state, warn);
    await writeRoundModel(ctx, task.runId, r + 1, model);
    await updateRun(ctx.store, task.runId, (record) => {
      record.stage = 'score';
      record.round = r + 1;
    });
    return { tasks: collected.shards.map((_, s) => taskMessage(task.runId, 'score', r + 1, s)) };
  }

  // The model of round r was fitted on exactly this set when round r added nothing.
  const model: SoftmaxRegression =
    termination === 'no_change' ? await readRoundModel(ctx, task.runId, r) : fitOnLabelled(all.X, state, warn);
  const k = collected.classes.length;
  const full = probabilitiesOverAllClasses(model.predictProba(all.X), model.classes, k);
  const outcome = outcomeFromRounds(trainingY, state.labeledIter, state.transduction, full, k);
  let holdout: MethodSummary['holdout'];
  if (held.length > 0) {
    holdout = {
      fraction: run.options.holdout,
      size: held.length,
      ...evaluateHoldout(all.X, all.y, trainingY, held, outcome.label, warn),
    };
    restoreHeldOut(outcome, all.y, held, full, k);
  }
  await writeShardResults(ctx, task.runId, collected, outcome);
  const summary: MethodSummary = {
    convergence: {
      nIter: r,
      converged: termination !== 'max_iter',
      terminationReason: termination,
      finalDelta: null,
      deltas: [],
    },
    ...(holdout ? { holdout } : {}),
    warnings: warnings.list(),
  };
  await writeJson(ctx.store, keys.resultSummary(task.runId), summary);
  await updateRun(ctx.store, task.runId, (record) => {
    record.stage = 'finalize';
  });
  return { reduce: [taskMessage(task.runId, 'finalize')] };
}
