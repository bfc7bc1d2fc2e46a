import { UNLABELLED } from '../data/dataset.ts';
import { type FeatureMatrix, selectRows } from '../data/featureMatrix.ts';
import { argmaxRow } from '../linalg/argmaxRow.ts';
import { type Classifier, type ClassifierFactory, processWarning, type WarningSink } from './classifier.ts';
import { NotFittedError } from './errors.ts';
import { SoftmaxRegression } from './softmaxRegression.ts';

/**
 * How the confident pseudo labels of a round are chosen:
 * - `threshold`: every unlabelled point whose top probability is strictly above `threshold` (scikit-learn);
 * - `k_best`: the `kBest` unlabelled points with the highest top probability (scikit-learn);
 * - `k_best_per_class`: for each class, the `kBest` unlabelled points predicted as that class with the highest
 *   probability, so that a dominant class cannot crowd out the others (class-balanced selection, Yalniz et al.
 *   2019, "Billion-scale semi-supervised learning for image classification"; unlike their ranking, a point is only a
 *   candidate for its most probable class, so it never receives two labels).
 */
export type SelfTrainingCriterion = 'threshold' | 'k_best' | 'k_best_per_class';

/** Why fitting stopped (scikit-learn's termination_condition_). */
export type TerminationCondition = 'max_iter' | 'no_change' | 'all_labeled';

export interface SelfTrainingOptions {
  /** Probability a prediction must exceed (strictly) for `criterion: 'threshold'`, in [0, 1). Default 0.75. */
  readonly threshold?: number;
  /** Default 'threshold'. */
  readonly criterion?: SelfTrainingCriterion;
  /** Points added per round (per class for 'k_best_per_class'), integer >= 1. Default 10. */
  readonly kBest?: number;
  /** Maximum rounds, integer >= 0, or null to go on until no change or all labelled. Default 10. */
  readonly maxIter?: number | null;
  /** Makes the base classifier. Default: SoftmaxRegression with scikit-learn LogisticRegression's defaults. */
  readonly classifier?: ClassifierFactory;
  /** Receives scikit-learn's UserWarnings (and the default base model's convergence warnings). */
  readonly onWarning?: WarningSink;
}

/**
 * Self-training (Yarowsky 1995) with scikit-learn's SelfTrainingClassifier semantics: each round fits the base
 * classifier on the labelled points (given plus pseudo-labelled so far), predicts the unlabelled ones, and adds the
 * selected predictions as labels; it stops after `maxIter` rounds, when a round adds nothing, or when every point is
 * labelled, then fits the base classifier once more on everything labelled.
 *
 * Deviations, both invisible in the results: `k_best` ties are broken by row order (scikit-learn's argpartition
 * leaves them unspecified), and the final fit is skipped when the last round added nothing (the base classifier is
 * then already fitted on that very set, and fitting is deterministic).
 */
export class SelfTraining {
  readonly threshold: number;
  readonly criterion: SelfTrainingCriterion;
  readonly kBest: number;
  readonly maxIter: number | null;
  private readonly factory: ClassifierFactory;
  private readonly onWarning: WarningSink;

  /** Labels used for the final fit: the given ones plus the pseudo labels; UNLABELLED where none was added. */
  transduction: Int32Array = new Int32Array(0);
  /** 0 for a given label, r for a pseudo label added in round r, -1 for a point never labelled. */
  labeledIter: Int32Array = new Int32Array(0);
  /** Number of rounds, i.e. fits on a relabelled training set before the final fit. */
  nIter = 0;
  terminationCondition: TerminationCondition = 'max_iter';
  /** Pseudo labels added in each round (added[r-1] for round r). */
  added: number[] = [];
  private model: Classifier | undefined;

  constructor(options: SelfTrainingOptions = {}) {
    const { threshold = 0.75, criterion = 'threshold', kBest = 10, maxIter = 10 } = options;
    if (!(threshold >= 0 && threshold < 1)) throw new RangeError(`threshold must be in [0, 1), got ${threshold}`);
    if (criterion !== 'threshold' && criterion !== 'k_best' && criterion !== 'k_best_per_class') {
      throw new RangeError(`criterion must be 'threshold', 'k_best' or 'k_best_per_class', got '${criterion}'`);
    }
    if (!Number.isInteger(kBest) || kBest < 1) throw new RangeError(`kBest must be an integer >= 1, got ${kBest}`);
    if (maxIter !== null && (!Number.isInteger(maxIter) || maxIter < 0)) {
      throw new RangeError(`maxIter must be an integer >= 0 or null, got ${maxIter}`);
    }
    this.threshold = threshold;
    this.criterion = criterion;
    this.kBest = kBest;
    this.maxIter = maxIter;
    this.onWarning = options.onWarning ?? processWarning;
    this.factory = options.classifier ?? (() => new SoftmaxRegression({ onWarning: this.onWarning }));
  }

  /** The fitted base classifier. */
  get estimator(): Classifier {
    if (this.model === undefined) throw new NotFittedError('SelfTraining');
    return this.model;
  }

  /** Sorted classes of the final base classifier. */
  get classes(): Int32Array {
    return this.estimator.classes;
  }

  /** Fits on X with labels y, UNLABELLED (-1) marking the unlabelled points. */
  fit(X: FeatureMatrix, y: Int32Array): this {
    const n = X.n;
    checkLabels(y, n);
    const transduction = Int32Array.from(y);
    const labeledIter = new Int32Array(n).fill(-1);
    let nLabelled = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] !== UNLABELLED) {
        labeledIter[i] = 0;
        nLabelled++;
      }
    }
    if (nLabelled === n) this.onWarning('y contains no unlabeled samples');
    if (this.criterion !== 'threshold' && this.kBest > n - nLabelled) {
      this.onWarning(
        'k_best is larger than the amount of unlabeled samples. All unlabeled samples will be labeled in the first iteration',
      );
    }

    const model = this.factory();
    const added: number[] = [];
    let nIter = 0;
    let termination: TerminationCondition | undefined;
    let fittedOnFinalSet = false;
    while (nLabelled < n && (this.maxIter === null || nIter < this.maxIter)) {
      nIter++;
      const labelled = rowsWhere(labeledIter, true);
      model.fit(selectRows(X, labelled), gather(transduction, labelled));
      const unlabelled = rowsWhere(labeledIter, false);
      const proba = model.predictProba(selectRows(X, unlabelled));
      const k = model.classes.length;
      const pred = new Int32Array(unlabelled.length);
      const confidence = new Float64Array(unlabelled.length);
      for (let s = 0; s < unlabelled.length; s++) {
        pred[s] = argmaxRow(proba, s, k);
        confidence[s] = proba[s * k + pred[s]];
      }
      const selected = this.select(pred, confidence, k);
      for (let t = 0; t < selected.length; t++) {
        const s = selected[t];
        const i = unlabelled[s];
        transduction[i] = model.classes[pred[s]];
        labeledIter[i] = nIter;
      }
      nLabelled += selected.length;
      added.push(selected.length);
      if (selected.length === 0) {
        termination = 'no_change';
        fittedOnFinalSet = true;
        break;
      }
    }
    if (nIter === this.maxIter) termination = 'max_iter';
    if (nLabelled === n) termination = 'all_labeled';
    if (!fittedOnFinalSet) {
      const labelled = rowsWhere(labeledIter, true);
      model.fit(selectRows(X, labelled), gather(transduction, labelled));
    }

    this.transduction = transduction;
    this.labeledIter = labeledIter;
    this.nIter = nIter;
    this.terminationCondition = termination ?? 'max_iter';
    this.added = added;
    this.model = model;
    return this;
  }

  predictProba(X: FeatureMatrix): Float64Array {
    return this.estimator.predictProba(X);
  }

  predict(X: FeatureMatrix): Int32Array {
    return this.estimator.predict(X);
  }

  private select(pred: Int32Array, confidence: Float64Array, k: number): Int32Array {
    return selectPseudoLabels(pred, confidence, k, this);
  }
}

/** The selection rule of a self-training round. */
export interface SelectionRule {
  readonly criterion: SelfTrainingCriterion;
  readonly threshold: number;
  readonly kBest: number;
}

/**
 * Positions (into the candidate rows, in row order) of the predictions a round accepts (see
 * SelfTrainingCriterion). Applying the rule to parts of the rows and then again to the union of what each part
 * accepted gives the same result as applying it once to all rows, so shards may pre-select their candidates.
 */
export function selectPseudoLabels(
  pred: Int32Array,
  confidence: Float64Array,
  k: number,
  rule: SelectionRule,
): Int32Array {
  const m = pred.length;
  if (rule.criterion === 'threshold') {
    // Typed, counted first: the reduce step applies it to the union of every shard's candidates (up to n rows).
    let count = 0;
    for (let s = 0; s < m; s++) if (confidence[s] > rule.threshold) count++;
    const out = new Int32Array(count);
    for (let s = 0, t = 0; s < m; s++) if (confidence[s] > rule.threshold) out[t++] = s;
    return out;
  }
  if (rule.criterion === 'k_best') {
    if (rule.kBest >= m) return Int32Array.from({ length: m }, (_, s) => s);
    return mostConfident(
      Int32Array.from({ length: m }, (_, s) => s),
      confidence,
      rule.kBest,
    );
  }
  const out: number[] = [];
  for (let c = 0; c < k; c++) {
    const candidates: number[] = [];
    for (let s = 0; s < m; s++) if (pred[s] === c) candidates.push(s);
    for (const s of mostConfident(Int32Array.from(candidates), confidence, rule.kBest)) out.push(s);
  }
  return Int32Array.from(out).sort();
}

/** Checks that y has one label per row, each UNLABELLED or a class code >= 0. */
export function checkLabels(y: Int32Array, n: number): void {
  if (y.length !== n) throw new RangeError(`y has ${y.length} labels for ${n} rows`);
  for (let i = 0; i < n; i++) {
    if (y[i] < UNLABELLED)
      throw new RangeError(`labels must be ${UNLABELLED} (unlabelled) or >= 0, got ${y[i]} at row ${i}`);
  }
}

/** Rows with (labelled = true) or without a label, in row order. */
export function rowsWhere(labeledIter: Int32Array, labelled: boolean): Int32Array {
  let count = 0;
  for (let i = 0; i < labeledIter.length; i++) if (labeledIter[i] >= 0 === labelled) count++;
  const rows = new Int32Array(count);
  let r = 0;
  for (let i = 0; i < labeledIter.length; i++) if (labeledIter[i] >= 0 === labelled) rows[r++] = i;
  return rows;
}

export function gather(values: Int32Array, rows: Int32Array): Int32Array {
  const out = new Int32Array(rows.length);
  for (let r = 0; r < rows.length; r++) out[r] = values[rows[r]];
  return out;
}

/** The `count` candidates of highest confidence (all if fewer), ties broken by position; in position order. */
export function mostConfident(candidates: Int32Array, confidence: Float64Array, count: number): Int32Array {
  if (candidates.length <= count) return candidates;
  const order = Array.from(candidates).sort((a, b) => confidence[b] - confidence[a] || a - b);
  return Int32Array.from(order.slice(0, count)).sort();
}
