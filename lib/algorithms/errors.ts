import { InputError } from '../errors.ts';

/** A model method that needs `fit` was called first (scikit-learn's NotFittedError). */
export class NotFittedError extends Error {
  override readonly name = 'NotFittedError';
  constructor(model: string) {
    super(`this ${model} instance is not fitted yet; call fit first`);
  }
}

/**
 * A classifier was fitted on labels of a single class. scikit-learn's LogisticRegression raises the same way
 * ("This solver needs samples of at least 2 classes in the data").
 */
export class TooFewClassesError extends InputError {
  override readonly name = 'TooFewClassesError';
  constructor(found: number) {
    super(`a classifier needs samples of at least 2 classes, got ${found}`);
  }
}

/** `fit` got no labelled row (every y is -1): there is nothing to propagate. */
export class NoLabelledSamplesError extends InputError {
  override readonly name = 'NoLabelledSamplesError';
  constructor() {
    super('y has no labelled rows (every value is -1); at least one labelled row is needed');
  }
}

/**
 * Emitted (not thrown) when an iterative algorithm stops at max_iter without meeting its tolerance
 * (scikit-learn's ConvergenceWarning). Passed to a model's `onWarning` callback, by default
 * `process.emitWarning`, where it shows under the name 'ConvergenceWarning'.
 */
export class ConvergenceWarning extends Error {
  override readonly name = 'ConvergenceWarning';
}

/** Receives warnings a model emits instead of throwing. */
export type WarningHandler = (warning: Error) => void;

export const emitProcessWarning: WarningHandler = (warning) => process.emitWarning(warning);
