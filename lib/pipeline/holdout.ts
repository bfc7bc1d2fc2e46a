import { accuracy, macroF1 } from '../algorithms/metrics.ts';
import { SoftmaxRegression } from '../algorithms/softmaxRegression.ts';
import { UNLABELLED } from '../data/dataset.ts';
import type { FeatureMatrix } from '../data/featureMatrix.ts';
import { selectRows } from '../data/featureMatrix.ts';
import { OptionsError } from '../errors.ts';
import { seededUniform } from '../linalg/seededRandom.ts';
import {
  type AccuracyDifference,
  accuracyDifference,
  type HoldoutVerdict,
  heldOutLabelsNeeded,
  MIN_HOLDOUT_LABELS,
  verdictOf,
} from './holdoutInterval.ts';
import { type RowOutcome, SOURCE } from './rowOutcome.ts';
import type { Metrics } from './runReport.ts';

/**
 * Stratified holdout: from each class, round(fraction * count) of its given rows (at least one row of every
 * class stays in training), chosen by a seeded shuffle. Returns the held-out row indices, ascending.
 */
export function stratifiedHoldout(y: Int32Array, fraction: number, seed: number): Int32Array {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    if (y[i] === UNLABELLED) continue;
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

/**
 * Supervised-only baseline on the holdout: softmax regression fitted on the remaining given labels, as a user
 * would without semi-supervised learning; compared with the labels the run gave the held-out rows.
 */
export function evaluateHoldout(
  X: FeatureMatrix,
  y: Int32Array,
  trainingY: Int32Array,
  held: Int32Array,
  predicted: Int32Array,
  warn: (message: string) => void,
  seed = 0,
): HoldoutMetrics {
  const training: number[] = [];
  for (let i = 0; i < trainingY.length; i++) if (trainingY[i] !== UNLABELLED) training.push(i);
  const trainRows = Int32Array.from(training);
  return compareWithSupervised(
    { X: selectRows(X, trainRows), y: Int32Array.from(trainRows, (i) => y[i]) },
    { X: selectRows(X, held), y: Int32Array.from(held, (i) => y[i]) },
    Int32Array.from(held, (i) => predicted[i]),
    warn,
    seed,
  );
}

export interface HoldoutMetrics {
  readonly supervised: Metrics;
  readonly semiSupervised: Metrics;
  /** Semi-supervised minus supervised-only accuracy, with its 95% interval (holdoutInterval.ts). */
  readonly difference: AccuracyDifference;
  /** helped / did not help only when the interval excludes 0. */
  readonly verdict: HoldoutVerdict;
  /** With "cannot tell": roughly how many held-out labels would tell. */
  readonly heldOutLabelsNeeded?: number;
  /** verdict === 'helped'. */
  readonly helped: boolean;
}

/**
 * Refuses a holdout that would keep fewer than MIN_HOLDOUT_LABELS labels aside (checked by collect, before any
 * work): on so few labels the difference between two models is noise.
 */
export function checkHoldoutSize(y: Int32Array, fraction: number, seed: number): void {
  if (fraction === 0) return;
  const held = stratifiedHoldout(y, fraction, seed).length;
  if (held >= MIN_HOLDOUT_LABELS) return;
  let given = 0;
  for (const label of y) if (label !== UNLABELLED) given++;
  throw new OptionsError(
    `--holdout ${fraction} keeps ${held} of the ${given} given labels aside: at least ${MIN_HOLDOUT_LABELS} are needed ` +
      'to tell whether semi-supervised learning helped; give more labels or a larger --holdout, or leave it out',
  );
}

/**
 * evaluateHoldout from the given rows alone (what the self-training reduce step holds, not all rows): the
 * training given rows and the held-out rows, each in row order, and the labels the run gave the held-out rows.
 */
export function compareWithSupervised(
  training: { readonly X: FeatureMatrix; readonly y: Int32Array },
  held: { readonly X: FeatureMatrix; readonly y: Int32Array },
  predictedHeld: Int32Array,
  warn: (message: string) => void,
  seed = 0,
): HoldoutMetrics {
  const model = new SoftmaxRegression({ onWarning: warn }).fit(training.X, training.y);
  const predictedSupervised = model.predict(held.X);
  const difference = accuracyDifference(held.y, predictedHeld, predictedSupervised, seed);
  const verdict = verdictOf(difference);
  return {
    supervised: metricsOn(held.y, predictedSupervised),
    semiSupervised: metricsOn(held.y, predictedHeld),
    difference,
    verdict,
    ...(verdict === 'cannot tell'
      ? { heldOutLabelsNeeded: heldOutLabelsNeeded(held.y, predictedHeld, predictedSupervised) }
      : {}),
    helped: verdict === 'helped',
  };
}

/** Held-out rows are reported as what they are, given labels, once they have been scored. */
export function restoreHeldOut(
  outcome: RowOutcome,
  y: Int32Array,
  held: Int32Array,
  probabilities: Float64Array,
  k: number,
) {
  for (const i of held) {
    outcome.label[i] = y[i];
    outcome.source[i] = SOURCE.given;
    outcome.round[i] = 0;
    outcome.confidence[i] = probabilities[i * k + y[i]];
  }
}
