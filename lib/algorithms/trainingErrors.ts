/** Errors raised by the supervised base models and the wrapper-style semi-supervised learners. */

/** predict/predictProba was called before fit (scikit-learn's NotFittedError). */
export class NotFittedError extends Error {
  constructor(estimator: string) {
    super(`this ${estimator} instance is not fitted yet: call fit before predicting`);
    this.name = 'NotFittedError';
  }
}

/**
 * A classifier was fitted on labels of a single class. scikit-learn's LogisticRegression raises the same way
 * ("This solver needs samples of at least 2 classes in the data").
 */
export class TooFewClassesError extends Error {
  constructor(found: number) {
    super(`a classifier needs samples of at least 2 classes, got ${found}`);
    this.name = 'TooFewClassesError';
  }
}
