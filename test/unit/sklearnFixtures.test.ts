import { describe, expect, it } from 'vitest';
import { LabelPropagation } from '../../lib/algorithms/labelPropagation.ts';
import { LabelSpreading } from '../../lib/algorithms/labelSpreading.ts';
import type { BaseLabelPropagation } from '../../lib/algorithms/propagation.ts';
import { fromRows } from '../../lib/data/featureMatrix.ts';
import { type PropagationCase, propagationFixtures, sklearnFixtureFiles } from '../support/sklearnFixtures.ts';

/**
 * Compares LabelPropagation / LabelSpreading with what scikit-learn computed on the same inputs
 * (test/fixtures/sklearn/*.json, written by test/fixtures/generate.py).
 */
const TOLERANCE = 1e-4;
const files = sklearnFixtureFiles();
const fixtures = propagationFixtures();

function build(c: PropagationCase, warnings: Error[]): BaseLabelPropagation {
  const common = {
    kernel: c.params.kernel,
    gamma: c.params.gamma,
    nNeighbors: c.params.n_neighbors,
    maxIter: c.params.max_iter,
    tol: c.params.tol,
    onWarning: (w: Error) => warnings.push(w),
  };
  return c.model === 'LabelSpreading'
    ? new LabelSpreading({ ...common, alpha: c.params.alpha ?? undefined })
    : new LabelPropagation(common);
}

function expectClose(actual: Float64Array, expected: (number | null)[][], what: string): void {
  const k = expected[0]?.length ?? 0;
  expect(actual.length, `${what} size`).toBe(expected.length * k);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    for (let c = 0; c < k; c++) {
      const e = expected[i][c];
      const a = actual[i * k + c];
      if (e === null) {
        expect(Number.isNaN(a), `${what}[${i}][${c}] should be NaN`).toBe(true);
        continue;
      }
      worst = Math.max(worst, Math.abs(a - e));
    }
  }
  expect(worst, `${what}: largest absolute difference`).toBeLessThanOrEqual(TOLERANCE);
}

describe('scikit-learn fixtures', () => {
  it('has fixture files with propagation cases', () => {
    // Prepare / Act: the directory listing above
    // Assess
    expect(files.length).toBeGreaterThan(0);
    expect(fixtures.length).toBeGreaterThan(0);
  });

  for (const fixture of fixtures) {
    describe(fixture.name, () => {
      for (const [index, c] of fixture.propagation.entries()) {
        const p = c.params;
        const label = `#${index} ${c.model} kernel=${p.kernel} gamma=${p.gamma} k=${p.n_neighbors} alpha=${p.alpha} max_iter=${p.max_iter}`;
        it(label, () => {
          // Prepare
          const X = fromRows(fixture.X);
          const y = Int32Array.from(fixture.y);
          const warnings: Error[] = [];
          const model = build(c, warnings);

          // Act
          model.fit(X, y);
          const proba = model.predictProba(fromRows(c.predict_X));
          const predicted = model.predict(fromRows(c.predict_X));

          // Assess
          expect(Array.from(model.classes)).toEqual(c.classes);
          expectClose(model.labelDistributions, c.label_distributions, 'label_distributions');
          expect(Array.from(model.transduction)).toEqual(c.transduction);
          expect(model.nIter).toBe(c.n_iter);
          expect(model.converged).toBe(c.converged);
          expect(warnings.length).toBe(c.converged ? 0 : 1);
          expectClose(proba, c.predict_proba, 'predict_proba');
          expect(Array.from(predicted)).toEqual(c.predict);
        });
      }
    });
  }
});
