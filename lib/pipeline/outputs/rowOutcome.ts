import { UNLABELLED } from '../../data/dataset.ts';
import type { Source } from '../../data/labelSource.ts';
import { argmaxRow } from '../../linalg/argmaxRow.ts';

/** Where a row's label came from (labels.csv `source`); codes in SOURCES order. */
export { SOURCES, type Source } from '../../data/labelSource.ts';
export const SOURCE = { given: 0, propagated: 1, pseudo: 2, none: 3, carried: 4, confirmed: 5 } as const;
/** Sources only dataset runs have (carriedLabels.ts): report.json lists them only when some row has them. */
export type DatasetSource = 'carried' | 'confirmed';
/** report.json's counts[source][class]. */
export type SourceCounts = Record<Exclude<Source, DatasetSource>, Record<string, number>> &
  Partial<Record<DatasetSource, Record<string, number>>>;

/**
 * Rows whose training label was carried from the dataset's latest version or confirmed by a correction
 * (collect's origins, carriedLabels.ts ORIGIN: 0 user, 1 carried, 2 confirmed) report that source instead of
 * given. `origins` covers the outcome's rows, in order.
 */
export function markOrigins(outcome: RowOutcome, origins: Uint8Array | undefined): void {
  if (origins === undefined) return;
  for (let i = 0; i < origins.length; i++) {
    if (outcome.source[i] !== SOURCE.given || origins[i] === 0) continue;
    outcome.source[i] = origins[i] === 1 ? SOURCE.carried : SOURCE.confirmed;
  }
}

/**
 * The result of a method for every accepted row, as flat arrays in row order: a class index (UNLABELLED when
 * the row has no label), a confidence in [0, 1], a SOURCE code and the round the label was added (0 for given
 * and propagated labels, r >= 1 for pseudo labels, -1 for none).
 */
export interface RowOutcome {
  readonly label: Int32Array;
  readonly confidence: Float64Array;
  readonly source: Uint8Array;
  readonly round: Int32Array;
}

export function emptyOutcome(n: number): RowOutcome {
  return {
    label: new Int32Array(n).fill(UNLABELLED),
    confidence: new Float64Array(n),
    source: new Uint8Array(n).fill(SOURCE.none),
    round: new Int32Array(n).fill(-1),
  };
}

/**
 * Outcome of label propagation / spreading: the argmax of each row's normalised label distribution
 * (scikit-learn's transduction_) with its probability as confidence. A row whose distribution is all zero
 * was not reached by any label: scikit-learn still reports class 0 for it; we report no label, source none.
 */
export function outcomeFromDistributions(y: Int32Array, distributions: Float64Array, k: number): RowOutcome {
  const n = y.length;
  const outcome = emptyOutcome(n);
  for (let i = 0; i < n; i++) {
    const best = argmaxRow(distributions, i, k);
    const bestValue = distributions[i * k + best];
    let total = 0;
    for (let c = 0; c < k; c++) total += distributions[i * k + c];
    if (y[i] !== UNLABELLED) {
      outcome.label[i] = y[i];
      outcome.confidence[i] = distributions[i * k + y[i]];
      outcome.source[i] = SOURCE.given;
      outcome.round[i] = 0;
    } else if (total > 0) {
      outcome.label[i] = best;
      outcome.confidence[i] = bestValue;
      outcome.source[i] = SOURCE.propagated;
      outcome.round[i] = 0;
    }
  }
  return outcome;
}

/**
 * Outcome of self-training or co-training: given labels stay given, labels added in round r are pseudo labels of
 * round r, and every other row gets the final model's most probable class with source none (below the threshold).
 */
export function outcomeFromRounds(
  y: Int32Array,
  labeledIter: Int32Array,
  pseudoLabels: Int32Array,
  probabilities: Float64Array,
  k: number,
): RowOutcome {
  const n = y.length;
  const outcome = emptyOutcome(n);
  for (let i = 0; i < n; i++) {
    const best = argmaxRow(probabilities, i, k);
    if (y[i] !== UNLABELLED) {
      outcome.label[i] = y[i];
      outcome.source[i] = SOURCE.given;
      outcome.round[i] = 0;
    } else if (labeledIter[i] > 0) {
      outcome.label[i] = pseudoLabels[i];
      outcome.source[i] = SOURCE.pseudo;
      outcome.round[i] = labeledIter[i];
    } else {
      outcome.label[i] = best;
    }
    outcome.confidence[i] = probabilities[i * k + outcome.label[i]];
  }
  return outcome;
}

/** A model's n x m probabilities over the m classes it saw, spread onto the columns of all k classes. */
export function probabilitiesOverAllClasses(proba: Float64Array, modelClasses: Int32Array, k: number): Float64Array {
  const m = modelClasses.length;
  const n = proba.length / m;
  const full = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < m; c++) full[i * k + modelClasses[c]] = proba[i * m + c];
  }
  return full;
}
