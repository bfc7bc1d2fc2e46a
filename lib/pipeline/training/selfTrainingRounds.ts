import { type SoftmaxModelJson, SoftmaxRegression } from '../../algorithms/softmaxRegression.ts';
import { UNLABELLED } from '../../data/dataset.ts';
import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { readJson, writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import type { Collected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';

/**
 * Distributed self-training (scikit-learn's SelfTrainingClassifier loop, one round per reduce step) keeps no
 * n-length array anywhere:
 * - the reduce step holds the **labelled set** (keys.roundState): the rows with a training label after round r
 *   (given, then pseudo), ascending by global row, with their class, the round they were added in and their
 *   features: O(labelled x d), all the fit reads;
 * - each shard holds its **round state** (keys.shardRoundState: transduction and labeledIter of its own rows),
 *   which its score task of round r+1 derives from the state of round r-1 and the rows the reduce step of
 *   round r labelled in that shard (keys.shardLabelled);
 * - score tasks send their candidates with their features, so the reduce step never reads a shard.
 */
export interface LabelledSet {
  /** Global row indices, ascending. */
  readonly rows: Int32Array;
  /** Class index of each row. */
  readonly labels: Int32Array;
  /** Round each row was labelled in (0 given, r >= 1 pseudo). */
  readonly rounds: Int32Array;
  /** The rows' features, in the same order (Float32, as in the shards). */
  readonly X: FeatureMatrix;
}

export function packLabelledSet(set: LabelledSet): Uint8Array {
  return packArrays([set.rows, set.labels, set.rounds, set.X.data as Float32Array]);
}

export function unpackLabelledSet(bytes: Uint8Array, d: number): LabelledSet {
  const [rows, labels, rounds, data] = unpackArrays(bytes);
  return {
    rows: rows as Int32Array,
    labels: labels as Int32Array,
    rounds: rounds as Int32Array,
    X: { data: data as Float32Array, n: rows.length, d },
  };
}

export async function readLabelledSet(ctx: StageContext, key: string, d: number): Promise<LabelledSet> {
  return unpackLabelledSet(await ctx.store.get(key), d);
}

/** The rows at `positions` (ascending) of a set, in that order. */
export function subset(set: LabelledSet, positions: ArrayLike<number>): LabelledSet {
  const { d } = set.X;
  const m = positions.length;
  const data = new Float32Array(m * d);
  const rows = new Int32Array(m);
  const labels = new Int32Array(m);
  const rounds = new Int32Array(m);
  for (let t = 0; t < m; t++) {
    const p = positions[t];
    rows[t] = set.rows[p];
    labels[t] = set.labels[p];
    rounds[t] = set.rounds[p];
    data.set(set.X.data.subarray(p * d, (p + 1) * d), t * d);
  }
  return { rows, labels, rounds, X: { data, n: m, d } };
}

/** The union of two sets of disjoint rows, ascending by row (a merge: both are ascending). */
export function mergeSets(a: LabelledSet, b: LabelledSet): LabelledSet {
  const { d } = a.X;
  const m = a.rows.length + b.rows.length;
  const data = new Float32Array(m * d);
  const rows = new Int32Array(m);
  const labels = new Int32Array(m);
  const rounds = new Int32Array(m);
  let i = 0;
  let j = 0;
  for (let t = 0; t < m; t++) {
    const fromA = j >= b.rows.length || (i < a.rows.length && a.rows[i] < b.rows[j]);
    const set = fromA ? a : b;
    const p = fromA ? i++ : j++;
    rows[t] = set.rows[p];
    labels[t] = set.labels[p];
    rounds[t] = set.rounds[p];
    data.set(set.X.data.subarray(p * d, (p + 1) * d), t * d);
  }
  return { rows, labels, rounds, X: { data, n: m, d } };
}

/** Concatenates sets whose rows follow each other (shard parts in shard order), without per-element spreading. */
export function concatSets(parts: readonly LabelledSet[], d: number): LabelledSet {
  let m = 0;
  for (const part of parts) m += part.rows.length;
  const data = new Float32Array(m * d);
  const rows = new Int32Array(m);
  const labels = new Int32Array(m);
  const rounds = new Int32Array(m);
  let t = 0;
  for (const part of parts) {
    rows.set(part.rows, t);
    labels.set(part.labels, t);
    rounds.set(part.rounds, t);
    data.set(part.X.data, t * d);
    t += part.rows.length;
  }
  return { rows, labels, rounds, X: { data, n: m, d } };
}

/** Fits the base model (softmax regression, LogisticRegression's defaults) on a labelled set, in row order. */
export function fitOnLabelled(set: LabelledSet, warn: (message: string) => void): SoftmaxRegression {
  return new SoftmaxRegression({ onWarning: warn }).fit(set.X, set.labels);
}

export async function writeRoundModel(ctx: StageContext, runId: string, round: number, model: SoftmaxRegression) {
  await writeJson(ctx.store, keys.roundModel(runId, round), model.toJSON());
}

export async function readRoundModel(ctx: StageContext, runId: string, round: number): Promise<SoftmaxRegression> {
  return SoftmaxRegression.fromJSON(await readJson<SoftmaxModelJson>(ctx.store, keys.roundModel(runId, round)));
}

/**
 * Pseudo-label candidates of one shard in one round (a labelled set whose `rounds` holds nothing yet: the
 * reduce step decides) with the probability of their predicted class. In round 0 they are the shard's given
 * labels (confidence 1), every one of them taken.
 */
export interface Candidates {
  readonly set: LabelledSet;
  readonly confidence: Float64Array;
}

export function packCandidates(candidates: Candidates): Uint8Array {
  const { rows, labels, X } = candidates.set;
  return packArrays([rows, labels, candidates.confidence, X.data as Float32Array]);
}

export function unpackCandidates(bytes: Uint8Array, d: number): Candidates {
  const [rows, labels, confidence, data] = unpackArrays(bytes);
  const set = {
    rows: rows as Int32Array,
    labels: labels as Int32Array,
    rounds: new Int32Array(rows.length),
    X: { data: data as Float32Array, n: rows.length, d },
  };
  return { set, confidence: confidence as Float64Array };
}

/**
 * The training state of one shard's rows after a round: the label each row is fitted with (UNLABELLED where
 * none) and the round it was added in (0 given, r pseudo, -1 never), as SelfTrainingClassifier's transduction_
 * and labeled_iter_ restricted to the shard.
 */
export interface ShardRoundState {
  readonly transduction: Int32Array;
  readonly labeledIter: Int32Array;
}

/**
 * The shard's state after `round`: its state after round-1 (keys.shardRoundState, written by the score task of
 * `round`; all unlabelled before round 0) with the rows the reduce step of `round` labelled in it.
 */
export async function shardStateAfter(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  shard: number,
  round: number,
): Promise<ShardRoundState> {
  const { rows, offset } = collected.shards[shard];
  let state: ShardRoundState;
  if (round === 0) {
    state = { transduction: new Int32Array(rows).fill(UNLABELLED), labeledIter: new Int32Array(rows).fill(-1) };
  } else {
    const [transduction, labeledIter] = unpackArrays(
      await ctx.store.get(keys.shardRoundState(runId, round - 1, shard)),
    );
    state = { transduction: transduction as Int32Array, labeledIter: labeledIter as Int32Array };
  }
  const [added, labels] = unpackArrays(await ctx.store.get(keys.shardLabelled(runId, round, shard)));
  for (let t = 0; t < added.length; t++) {
    state.transduction[added[t] - offset] = labels[t];
    state.labeledIter[added[t] - offset] = round;
  }
  return state;
}

export async function writeShardState(
  ctx: StageContext,
  runId: string,
  round: number,
  shard: number,
  state: ShardRoundState,
) {
  await ctx.store.put(keys.shardRoundState(runId, round, shard), packArrays([state.transduction, state.labeledIter]));
}

/** Writes the rows a round labelled (ascending) as one part per shard (keys.shardLabelled), empty parts too. */
export async function writeShardLabelled(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  round: number,
  added: LabelledSet,
) {
  let start = 0;
  for (let s = 0; s < collected.shards.length; s++) {
    const end = collected.shards[s].offset + collected.shards[s].rows;
    let stop = start;
    while (stop < added.rows.length && added.rows[stop] < end) stop++;
    await ctx.store.put(
      keys.shardLabelled(runId, round, s),
      packArrays([added.rows.subarray(start, stop), added.labels.subarray(start, stop)]),
    );
    start = stop;
  }
}
