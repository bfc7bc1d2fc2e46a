import { type SoftmaxModelJson, SoftmaxRegression } from '../algorithms/softmaxRegression.ts';
import { UNLABELLED } from '../data/dataset.ts';
import type { FeatureMatrix } from '../data/featureMatrix.ts';
import { selectRows } from '../data/featureMatrix.ts';
import { packArrays, unpackArrays } from './binaryArrays.ts';
import { readJson, writeJson } from './jsonObjects.ts';
import { keys } from './keys.ts';
import type { StageContext } from './stageContext.ts';

/**
 * State of a distributed self-training run after round r (scikit-learn's SelfTrainingClassifier loop, one
 * round per reduce step): the labels used for fitting (given + pseudo; UNLABELLED where none) and the round
 * each was added in (0 given, r pseudo, -1 never).
 */
export interface RoundState {
  readonly transduction: Int32Array;
  readonly labeledIter: Int32Array;
}

export function initialRoundState(y: Int32Array): RoundState {
  return {
    transduction: Int32Array.from(y),
    labeledIter: Int32Array.from(y, (label) => (label === UNLABELLED ? -1 : 0)),
  };
}

export async function readRoundState(ctx: StageContext, runId: string, round: number): Promise<RoundState> {
  const [transduction, labeledIter] = unpackArrays(await ctx.store.get(keys.roundState(runId, round)));
  return { transduction: transduction as Int32Array, labeledIter: labeledIter as Int32Array };
}

export async function writeRoundState(ctx: StageContext, runId: string, round: number, state: RoundState) {
  await ctx.store.put(keys.roundState(runId, round), packArrays([state.transduction, state.labeledIter]));
}

/** Fits the base model (softmax regression, LogisticRegression's defaults) on the labelled rows of a state. */
export function fitOnLabelled(X: FeatureMatrix, state: RoundState, warn: (message: string) => void): SoftmaxRegression {
  const rows: number[] = [];
  for (let i = 0; i < state.labeledIter.length; i++) if (state.labeledIter[i] >= 0) rows.push(i);
  const labelled = Int32Array.from(rows);
  return new SoftmaxRegression({ onWarning: warn }).fit(
    selectRows(X, labelled),
    Int32Array.from(labelled, (i) => state.transduction[i]),
  );
}

export async function writeRoundModel(ctx: StageContext, runId: string, round: number, model: SoftmaxRegression) {
  await writeJson(ctx.store, keys.roundModel(runId, round), model.toJSON());
}

export async function readRoundModel(ctx: StageContext, runId: string, round: number): Promise<SoftmaxRegression> {
  return SoftmaxRegression.fromJSON(await readJson<SoftmaxModelJson>(ctx.store, keys.roundModel(runId, round)));
}

/** Pseudo-label candidates of one shard in one round: global row, class code, probability. */
export interface Candidates {
  readonly rows: Int32Array;
  readonly labels: Int32Array;
  readonly confidence: Float64Array;
}

export function packCandidates(candidates: Candidates): Uint8Array {
  return packArrays([candidates.rows, candidates.labels, candidates.confidence]);
}

export function unpackCandidates(bytes: Uint8Array): Candidates {
  const [rows, labels, confidence] = unpackArrays(bytes);
  return { rows: rows as Int32Array, labels: labels as Int32Array, confidence: confidence as Float64Array };
}
