import { describe, expect, it } from 'vitest';
import { SelfTraining } from '../../lib/algorithms/selfTraining.ts';
import { SoftmaxRegression } from '../../lib/algorithms/softmaxRegression.ts';
import { fromRows } from '../../lib/data/featureMatrix.ts';
import { sklearnFixture } from '../support/sklearnFixtures.ts';

interface SelfTrainingFixture {
  X: number[][];
  y: number[];
  y_true: number[];
  self_training: {
    params: {
      threshold: number;
      criterion: 'threshold' | 'k_best';
      k_best: number;
      max_iter: number | null;
      base: string;
    };
    classes: number[];
    transduction: number[];
    labeled_iter: number[];
    n_iter: number;
    termination_condition: string;
    predict_proba: number[][];
  };
}

/** The base model's max_iter from the fixture's description of it, e.g. "LogisticRegression(C=1.0, max_iter=1000)". */
function baseOptions(base: string): { C: number; maxIter: number } {
  const C = /C=([0-9.e+-]+)/.exec(base);
  const maxIter = /max_iter=(\d+)/.exec(base);
  return { C: C ? Number(C[1]) : 1, maxIter: maxIter ? Number(maxIter[1]) : 100 };
}

function fractionEqual(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

describe('SelfTraining against scikit-learn SelfTrainingClassifier(LogisticRegression)', () => {
  // Fails (ENOENT) when the fixture is missing: regenerate it with test/fixtures/generate.py.
  const fixture = sklearnFixture<SelfTrainingFixture>('classification_self_training');
  const expected = fixture.self_training;
  const { threshold, criterion, k_best: kBest, max_iter: maxIter, base } = expected.params;
  const X = fromRows(fixture.X);
  const st = new SelfTraining({
    threshold,
    criterion,
    kBest,
    maxIter,
    classifier: () => new SoftmaxRegression({ ...baseOptions(base), onWarning: () => {} }),
    onWarning: () => {},
  }).fit(X, Int32Array.from(fixture.y));

  it('agrees on the transduction for at least 98% of the rows', () => {
    const agreement = fractionEqual(st.transduction, expected.transduction);
    expect(agreement, `transduction agreement ${agreement}`).toBeGreaterThanOrEqual(0.98);
  });

  it('agrees on the round each label was added for at least 98% of the rows', () => {
    const agreement = fractionEqual(st.labeledIter, expected.labeled_iter);
    expect(agreement, `labeled_iter agreement ${agreement}`).toBeGreaterThanOrEqual(0.98);
  });

  it('stops for the same reason after the same number of rounds', () => {
    expect(st.nIter).toBe(expected.n_iter);
    expect(st.terminationCondition).toBe(expected.termination_condition);
    expect(Array.from(st.classes)).toEqual(expected.classes);
  });

  it('predicts the same probabilities with the final model', () => {
    const p = st.predictProba(X);
    const k = expected.classes.length;
    let worst = 0;
    expected.predict_proba.forEach((row, i) => {
      row.forEach((v, c) => {
        worst = Math.max(worst, Math.abs(p[i * k + c] - v));
      });
    });
    expect(worst).toBeLessThan(1e-4);
  });
});
