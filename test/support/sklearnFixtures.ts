import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * What scikit-learn computed on the committed fixtures (test/fixtures/sklearn/*.json, written by
 * test/fixtures/generate.py), loaded once per test file.
 */

const FIXTURE_DIR = resolve(import.meta.dirname, '../fixtures/sklearn');

/** One LabelPropagation / LabelSpreading fit and its predictions (generate.py: fit_propagation). */
export interface PropagationCase {
  model: 'LabelSpreading' | 'LabelPropagation';
  params: {
    kernel: 'rbf' | 'knn';
    gamma: number;
    n_neighbors: number;
    alpha: number | null;
    max_iter: number;
    tol: number;
  };
  classes: number[];
  /** null where scikit-learn gave NaN (generate.py writes NaN and Infinity as null). */
  label_distributions: (number | null)[][];
  transduction: number[];
  n_iter: number;
  converged: boolean;
  predict_X: number[][];
  /** null where scikit-learn gave NaN (a row no training point reaches). */
  predict_proba: (number | null)[][];
  predict: number[];
}

export interface PropagationFixture {
  name: string;
  X: number[][];
  y: number[];
  propagation: PropagationCase[];
}

/** The fixture files' names (`<name>.json`), sorted. */
export function sklearnFixtureFiles(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort();
}

/** The fixture `<name>.json` as parsed JSON, typed by the caller. */
export function sklearnFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8')) as T;
}

/** Every fixture that holds propagation cases, in file name order. */
export function propagationFixtures(): PropagationFixture[] {
  return sklearnFixtureFiles()
    .map((file) => sklearnFixture<Partial<PropagationFixture>>(file.slice(0, -'.json'.length)))
    .filter((fixture): fixture is PropagationFixture => (fixture.propagation?.length ?? 0) > 0);
}
