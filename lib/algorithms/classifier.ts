import type { FeatureMatrix } from '../data/featureMatrix.ts';

/**
 * A supervised probabilistic classifier, the contract the wrapper methods (self-training, co-training) rely on,
 * in the shape of a scikit-learn estimator with `fit` / `predict_proba` / `predict` / `classes_`.
 */
export interface Classifier {
  /** Fits on rows of X with labels y (non-negative class codes). Returns this for chaining. */
  fit(X: FeatureMatrix, y: Int32Array, sampleWeight?: Float64Array): this;
  /** Row-major n x k probabilities, columns in the order of `classes` (the sorted classes seen in fit). */
  predictProba(X: FeatureMatrix): Float64Array;
  /** The most probable class code of each row (ties: the smallest class, like numpy's argmax). */
  predict(X: FeatureMatrix): Int32Array;
  /** Sorted distinct labels seen in the last fit. */
  readonly classes: Int32Array;
}

/** Makes a fresh, unfitted classifier (scikit-learn's `clone(estimator)`). */
export type ClassifierFactory = () => Classifier;

/** Receives warnings such as scikit-learn's UserWarning / ConvergenceWarning. */
export type WarningSink = (message: string) => void;

/** The default sink: a Node process warning (printed to stderr), like Python's warnings.warn. */
export const processWarning: WarningSink = (message) => {
  process.emitWarning(message, 'PseudolabelWarning');
};

/** Sorted distinct values of y (numpy.unique). */
export function uniqueSorted(y: Int32Array): Int32Array {
  return Int32Array.from(new Set(y)).sort();
}
