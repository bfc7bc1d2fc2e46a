import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { labelPropagation, labelSpreading, selfTraining } from '../../lib/index.ts';

/** The library's estimators on plain arrays give scikit-learn's results (test/fixtures/sklearn, generate.py). */
function fixture(name: string) {
  return JSON.parse(readFileSync(new URL(`../fixtures/sklearn/${name}.json`, import.meta.url), 'utf8'));
}

describe('estimators on arrays', () => {
  it('labelPropagation and labelSpreading match scikit-learn on iris', () => {
    // Prepare
    const iris = fixture('iris');
    for (const reference of iris.propagation) {
      const { kernel, gamma, n_neighbors, alpha, max_iter, tol } = reference.params;
      const params = { kernel, gamma, nNeighbors: n_neighbors, maxIter: max_iter, tol, onWarning: () => {} };
      const model =
        reference.model === 'LabelSpreading' ? labelSpreading({ ...params, alpha }) : labelPropagation(params);

      // Act
      model.fit(iris.X, iris.y);

      // Assess
      expect(model.classes).toEqual(reference.classes);
      expect(model.transduction).toEqual(reference.transduction);
      expect(model.predict(reference.predict_X)).toEqual(reference.predict);
      const proba = model.predictProba(reference.predict_X);
      proba.forEach((row, i) => {
        row.forEach((p, c) => {
          if (reference.predict_proba[i][c] !== null) expect(p).toBeCloseTo(reference.predict_proba[i][c], 6);
        });
      });
    }
  });

  it('selfTraining matches scikit-learn SelfTrainingClassifier', () => {
    // Prepare
    const data = fixture('classification_self_training');
    const { threshold, criterion, k_best, max_iter } = data.self_training.params;

    // Act
    const model = selfTraining({ threshold, criterion, kBest: k_best, maxIter: max_iter, onWarning: () => {} });
    model.fit(data.X, data.y);

    // Assess
    expect(model.classes).toEqual(data.self_training.classes);
    expect(model.transduction).toEqual(data.self_training.transduction);
    expect(model.model.nIter).toBe(data.self_training.n_iter);
  });

  it('refuses labels and features it cannot use, naming the row', () => {
    // Prepare
    const X = [
      [0, 1],
      [1, 0],
    ];

    // Act / Assess
    expect(() => labelSpreading().fit(X, [0, 1.5])).toThrow(/y\[1\] is 1\.5/);
    expect(() => labelSpreading().fit(X, [0, -2])).toThrow(/y\[1\] is -2/);
    expect(() => labelSpreading().fit(X, [0])).toThrow(/1 labels but X has 2 rows/);
    expect(() => labelSpreading().fit([[0, 1], [1]], [0, -1])).toThrow(/X\[1\] has 1 values/);
    expect(() =>
      labelSpreading().fit(
        [
          [0, 1],
          [1, Number.NaN],
        ],
        [0, -1],
      ),
    ).toThrow(/X\[1\]\[1\] is NaN/);
    expect(() => labelSpreading().predict(X)).toThrow(/not fitted|fit/i);
  });
});
