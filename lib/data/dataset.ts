import type { FeatureMatrix } from './featureMatrix.ts';

/** scikit-learn's convention for an unlabelled point. */
export const UNLABELLED = -1;

/**
 * Accepted input rows, in input order: ids, features and labels encoded as indices into `classes`
 * (UNLABELLED for none). `classes` is sorted the way numpy.unique sorts: numerically when every
 * label is a number, else lexicographically.
 */
export interface Dataset {
  readonly ids: string[];
  readonly X: FeatureMatrix;
  readonly y: Int32Array;
  readonly classes: string[];
  /** Names of the feature columns (or vector[0..d) for a vector column). */
  readonly featureNames: string[];
}

/** A row that was not accepted: where it was, and why. Nothing is dropped silently. */
export interface RejectedRow {
  readonly file: string;
  /** 1-based line number for CSV/JSONL (the header is line 1), 1-based row number for Parquet. */
  readonly line: number;
  readonly reason: string;
}
