import { accuracy, macroF1 } from '../../algorithms/metrics.ts';
import { SoftmaxRegression } from '../../algorithms/softmaxRegression.ts';
import { UNLABELLED } from '../../data/dataset.ts';
import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { selectRows } from '../../data/featureMatrix.ts';
import { OptionsError } from '../../errors.ts';
import { seededUniform } from '../../linalg/seededRandom.ts';
import type { Metrics } from '../outputs/runReport.ts';
import {
  type AccuracyDifference,
  correctedResampledInterval,
  givenLabelsNeeded,
  HOLDOUT_SPLITS,
  type HoldoutVerdict,
  MIN_GIVEN_LABELS,
  verdictOf,
} from './holdoutInterval.ts';

/**
 * Stratified holdout: from each class, round(fraction * count) of its given rows (at least one row of every
 * class stays in training), chosen by a seeded shuffle. Returns the held-out row indices, ascending. With
 * `origins` (collect's, carriedLabels.ts), only the user's own given rows (origin 0) can be held out: a carried
 * or confirmed label is never scored against (it stays in training).
 */
export function stratifiedHoldout(y: Int32Array, fraction: number, seed: number, origins?: Uint8Array): Int32Array {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    if (y[i] === UNLABELLED || (origins !== undefined && origins[i] !== 0)) continue;
    const rows = byClass.get(y[i]) ?? [];
    rows.push(i);
    byClass.set(y[i], rows);
  }
  const random = seededUniform(seed);
  const held: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = byClass.get(c)!;
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    const take = Math.min(rows.length - 1, Math.round(fraction * rows.length));
    held.push(...rows.slice(0, take));
  }
  return Int32Array.from(held.sort((a, b) => a - b));
}

export function hideLabels(y: Int32Array, rows: Int32Array): Int32Array {
  const hidden = Int32Array.from(y);
  for (const i of rows) hidden[i] = UNLABELLED;
  return hidden;
}

function metricsOn(truth: Int32Array, predicted: Int32Array): Metrics {
  return { accuracy: accuracy(truth, predicted), macroF1: macroF1(truth, predicted) };
}

/** Predictions for every row of a method trained on trainingY (UNLABELLED for the rows it must label). */
export type SplitPredictor = (trainingY: Int32Array) => Int32Array;

export interface HoldoutMetrics {
  /** Mean over the splits of the supervised-only model's held-out metrics. */
  readonly supervised: Metrics;
  /** Mean over the splits of the semi-supervised method's held-out metrics. */
  readonly semiSupervised: Metrics;
  /** Given labels, and how many each split holds out. */
  readonly given: number;
  readonly size: number;
  /** Semi-supervised minus supervised-only accuracy, with its 95% interval (holdoutInterval.ts). */
  readonly difference: AccuracyDifference;
  /** helped / did not help only when the interval excludes 0. */
  readonly verdict: HoldoutVerdict;
  /** With "cannot tell": roughly how many given labels would tell. */
  readonly givenLabelsNeeded?: number;
  /** verdict === 'helped'. */
  readonly helped: boolean;
}

/**
 * The holdout (DESIGN.md section 4): HOLDOUT_SPLITS stratified splits of the given labels, each holding out
 * `fraction` of them; on each, the method runs with the held-out labels hidden and a supervised-only model
 * (softmax regression, as a user would fit without semi-supervised learning) is fitted on the rest, both scored
 * on the held-out labels. The mean difference and its corrected resampled t-interval, which counts the variance
 * between splits (a single split's interval does not), decide the verdict.
 */
export function repeatedHoldout(
  X: FeatureMatrix,
  y: Int32Array,
  fraction: number,
  seed: number,
  predict: SplitPredictor,
  warn: (message: string) => void,
  splits = HOLDOUT_SPLITS,
  origins?: Uint8Array,
): HoldoutMetrics {
  let given = 0;
  for (const label of y) if (label !== UNLABELLED) given++;
  const differences: number[] = [];
  const sums = { supervised: { accuracy: 0, macroF1: 0 }, semiSupervised: { accuracy: 0, macroF1: 0 } };
  let size = 0;
  for (let j = 0; j < splits; j++) {
    const held = stratifiedHoldout(y, fraction, seed + j, origins);
    size = held.length;
    const trainingY = hideLabels(y, held);
    const training = Int32Array.from(y.keys()).filter((i) => trainingY[i] !== UNLABELLED);
    const truth = Int32Array.from(held, (i) => y[i]);
    const predicted = predict(trainingY);
    const semi = metricsOn(
      truth,
      Int32Array.from(held, (i) => predicted[i]),
    );
    const supervised = metricsOn(
      truth,
      new SoftmaxRegression({ onWarning: warn })
        .fit(
          selectRows(X, training),
          Int32Array.from(training, (i) => y[i]),
        )
        .predict(selectRows(X, held)),
    );
    differences.push(semi.accuracy - supervised.accuracy);
    for (const m of ['accuracy', 'macroF1'] as const) {
      sums.supervised[m] += supervised[m];
      sums.semiSupervised[m] += semi[m];
    }
  }
  const meanOf = (sum: Metrics): Metrics => ({ accuracy: sum.accuracy / splits, macroF1: sum.macroF1 / splits });
  const difference = correctedResampledInterval(differences, given - size, size);
  const verdict = verdictOf(difference);
  return {
    supervised: meanOf(sums.supervised),
    semiSupervised: meanOf(sums.semiSupervised),
    given,
    size,
    difference,
    verdict,
    ...(verdict === 'cannot tell' ? { givenLabelsNeeded: givenLabelsNeeded(difference, given) } : {}),
    helped: verdict === 'helped',
  };
}

/**
 * Refuses a holdout that cannot tell anything (checked by collect, before any work): fewer than MIN_GIVEN_LABELS
 * given labels, or a fraction that holds out none of them; the message says what to change.
 */
export function checkHoldoutSize(y: Int32Array, fraction: number, seed: number, origins?: Uint8Array): void {
  if (fraction === 0) return;
  // Only the user's own labels count (carried and confirmed ones are never held out).
  const own = origins === undefined ? y : Int32Array.from(y, (label, i) => (origins[i] === 0 ? label : UNLABELLED));
  let given = 0;
  for (const label of own) if (label !== UNLABELLED) given++;
  if (given < MIN_GIVEN_LABELS) {
    throw new OptionsError(
      `--holdout needs at least ${MIN_GIVEN_LABELS} given labels to tell whether semi-supervised learning helped, ` +
        `and there are ${given}: label more rows, or leave --holdout out`,
    );
  }
  if (stratifiedHoldout(own, fraction, seed).length > 0) return;
  // A class of c labels holds out round(fraction * c): one from fraction 0.5 / c.
  const largest = Math.max(...countsByClass(own));
  throw new OptionsError(
    `--holdout ${fraction} holds out none of the ${given} given labels (the largest class has ${largest}): ` +
      `use --holdout ${(Math.ceil(50 / largest) / 100).toFixed(2)} or more`,
  );
}

function countsByClass(y: Int32Array): number[] {
  const counts = new Map<number, number>();
  for (const label of y) if (label !== UNLABELLED) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts.values()];
}
