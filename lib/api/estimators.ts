import { LabelPropagation } from '../algorithms/labelPropagation.ts';
import { LabelSpreading, type LabelSpreadingParams } from '../algorithms/labelSpreading.ts';
import type { BasePropagationParams } from '../algorithms/propagation.ts';
import { SelfTraining, type SelfTrainingOptions } from '../algorithms/selfTraining.ts';
import { UNLABELLED } from '../data/dataset.ts';
import type { FeatureMatrix } from '../data/featureMatrix.ts';

/** Rows of features: `X[i][j]` is feature j of row i (an array of arrays, or of typed arrays). */
export type Rows = ArrayLike<ArrayLike<number>>;

/** One label per row: a class as an integer >= 0, or -1 for an unlabelled row (scikit-learn's convention). */
export type Labels = ArrayLike<number>;

/** What fit/predict need of lib/algorithms' estimators, which work on FeatureMatrix and Int32Array. */
interface MatrixEstimator {
  fit(X: FeatureMatrix, y: Int32Array): unknown;
  predict(X: FeatureMatrix): Int32Array;
  predictProba(X: FeatureMatrix): Float64Array;
  readonly classes: Int32Array;
  readonly transduction: Int32Array;
}

/**
 * A semi-supervised estimator on plain arrays, as scikit-learn's: `fit(X, y)` on every row (labelled or not), then
 * `transduction` (the label of every training row), and `predict` / `predictProba` for new rows. The results are
 * scikit-learn's (test/fixtures); `model` is the underlying estimator of lib/algorithms with every fitted attribute.
 */
export class ArrayEstimator<Model extends MatrixEstimator> {
  constructor(readonly model: Model) {}

  /** Fits on X with labels y (-1: unlabelled). Returns this. */
  fit(X: Rows, y: Labels): this {
    const matrix = toMatrix(X, 'X');
    this.model.fit(matrix, toLabels(y, matrix.n));
    return this;
  }

  /** The most probable class of each row of X. */
  predict(X: Rows): number[] {
    return Array.from(this.model.predict(toMatrix(X, 'X')));
  }

  /** Per row of X, the probability of every class, in the order of `classes`. */
  predictProba(X: Rows): number[][] {
    return toRows(this.model.predictProba(toMatrix(X, 'X')), this.model.classes.length);
  }

  /** The classes seen in fit, ascending (scikit-learn's classes_). */
  get classes(): number[] {
    return Array.from(this.model.classes);
  }

  /** The label of every training row after fit (transduction_); for self-training -1 where none was added. */
  get transduction(): number[] {
    return Array.from(this.model.transduction);
  }
}

/** Label spreading (scikit-learn's `LabelSpreading`; defaults kernel 'rbf', gamma 20, alpha 0.2, maxIter 30). */
export function labelSpreading(params: LabelSpreadingParams = {}): ArrayEstimator<LabelSpreading> {
  return new ArrayEstimator(new LabelSpreading(params));
}

/** Label propagation (scikit-learn's `LabelPropagation`; defaults kernel 'rbf', gamma 20, maxIter 1000). */
export function labelPropagation(params: BasePropagationParams = {}): ArrayEstimator<LabelPropagation> {
  return new ArrayEstimator(new LabelPropagation(params));
}

/**
 * Self-training (scikit-learn's `SelfTrainingClassifier` around a multinomial logistic regression; defaults
 * threshold 0.75, criterion 'threshold', maxIter 10).
 */
export function selfTraining(options: SelfTrainingOptions = {}): ArrayEstimator<SelfTraining> {
  return new ArrayEstimator(new SelfTraining(options));
}

/** Copies rows into a row-major matrix; refuses ragged rows and values that are not finite numbers. */
function toMatrix(rows: Rows, name: string): FeatureMatrix {
  const n = rows.length;
  const d = n === 0 ? 0 : rows[0].length;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    if (row.length !== d) throw new RangeError(`${name}[${i}] has ${row.length} values, ${name}[0] has ${d}`);
    for (let j = 0; j < d; j++) {
      const value = row[j];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new RangeError(`${name}[${i}][${j}] is ${String(value)}, not a finite number`);
      }
      data[i * d + j] = value;
    }
  }
  return { data, n, d };
}

/** Copies labels, refusing a count that is not X's and values that are not integers >= -1. */
function toLabels(labels: Labels, n: number): Int32Array {
  if (labels.length !== n) throw new RangeError(`y has ${labels.length} labels but X has ${n} rows`);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const value = labels[i];
    if (!Number.isInteger(value) || value < UNLABELLED || value > 0x7fffffff) {
      throw new RangeError(`y[${i}] is ${String(value)}: a label is a class (an integer >= 0) or -1 (unlabelled)`);
    }
    y[i] = value;
  }
  return y;
}

function toRows(values: Float64Array, k: number): number[][] {
  const rows: number[][] = [];
  for (let o = 0; o < values.length; o += k) rows.push(Array.from(values.subarray(o, o + k)));
  return rows;
}
