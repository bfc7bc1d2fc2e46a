import { inverse, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { ConvergenceWarning } from '../../lib/algorithms/errors.ts';
import { LabelSpreading } from '../../lib/algorithms/labelSpreading.ts';
import { type FeatureMatrix, featureMatrix, fromRows } from '../../lib/data/featureMatrix.ts';
import { isCsr } from '../../lib/graph/affinity.ts';
import { csrToDense } from '../../lib/graph/csrGraph.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';

/** Two overlapping Gaussian blobs (like make_classification), every third label removed as in scikit-learn's tests. */
function blobs(n: number, d: number, seed: number): { X: FeatureMatrix; y: Int32Array } {
  const rand = seededUniform(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const data = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let j = 0; j < d; j++) data[i * d + j] = gauss() + (y[i] === 1 ? 1.5 : 0);
  }
  for (let i = 0; i < n; i += 3) y[i] = -1;
  return { X: featureMatrix(data, n, d), y };
}

/** Zhou et al. (2004): F* = (I - alpha S)^-1 Y, rows normalised. */
function closedForm(S: Float64Array, y: Int32Array, k: number, alpha: number): number[][] {
  const n = y.length;
  const rows = Array.from({ length: n }, (_, i) => Array.from(S.subarray(i * n, i * n + n)));
  const Y = new Matrix(Array.from({ length: n }, (_, i) => Array.from({ length: k }, (_, c) => (y[i] === c ? 1 : 0))));
  const F = inverse(Matrix.eye(n).sub(new Matrix(rows).mul(alpha))).mmul(Y);
  return F.to2DArray().map((row) => {
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => v / s);
  });
}

function expectRowsClose(actual: Float64Array, expected: number[][], tolerance: number): void {
  const k = expected[0].length;
  let worst = 0;
  expected.forEach((row, i) => {
    row.forEach((v, c) => {
      worst = Math.max(worst, Math.abs(actual[i * k + c] - v));
    });
  });
  expect(worst).toBeLessThanOrEqual(tolerance);
}

const toy = fromRows([
  [1, 0],
  [0, 1],
  [1, 2.5],
]);
const toyLabels = Int32Array.from([0, 1, -1]);

describe('LabelSpreading', () => {
  // scikit-learn test_label_spreading_closed_form
  for (const alpha of [0.1, 0.3, 0.5, 0.7, 0.9]) {
    for (const kernel of ['rbf', 'knn'] as const) {
      it(`matches the closed form of Zhou et al. (alpha=${alpha}, ${kernel})`, () => {
        // Prepare
        const { X, y } = blobs(200, 5, 7);
        const model = new LabelSpreading({ kernel, gamma: 0.1, alpha, maxIter: 1000, tol: 1e-12 });
        const graph = model.buildGraph(X);
        const expected = closedForm(isCsr(graph) ? csrToDense(graph) : graph.data, y, 2, alpha);

        // Act
        model.fit(X, y);

        // Assess
        expect(model.converged).toBe(true);
        expectRowsClose(model.labelDistributions, expected, 1e-9);
      });
    }
  }

  it('uses a symmetric graph with a zero diagonal for the rbf kernel', () => {
    // Prepare
    const { X } = blobs(20, 3, 2);

    // Act
    const graph = new LabelSpreading({ gamma: 0.5 }).buildGraph(X);

    // Assess
    const S = isCsr(graph) ? csrToDense(graph) : graph.data;
    for (let i = 0; i < 20; i++) {
      expect(S[i * 20 + i]).toBe(0);
      for (let j = 0; j < 20; j++) expect(S[i * 20 + j]).toBeCloseTo(S[j * 20 + i], 15);
    }
  });

  it.each([
    ['rbf', { kernel: 'rbf' }],
    ['knn', { kernel: 'knn', nNeighbors: 2 }],
  ] as const)('transduces, predicts and gives probabilities like scikit-learn (%s)', (_, params) => {
    // Prepare
    const model = new LabelSpreading(params);
    const other = new LabelSpreading(params);

    // Act
    model.fit(
      fromRows([
        [1, 0],
        [0, 2],
        [1, 3],
      ]),
      toyLabels,
    );
    other.fit(toy, toyLabels);

    // Assess
    expect(model.transduction[2]).toBe(1);
    expect(Array.from(model.predict(fromRows([[0.5, 2.5]])))).toEqual([1]);
    const proba = other.predictProba(fromRows([[1, 1]]));
    expect(proba[0]).toBeCloseTo(0.5, 7);
    expect(proba[1]).toBeCloseTo(0.5, 7);
  });

  it('converges quickly on the toy problem (scikit-learn test_convergence_speed)', () => {
    // Prepare
    const model = new LabelSpreading({ kernel: 'rbf', maxIter: 5000 });

    // Act
    model.fit(toy, toyLabels);

    // Assess
    expect(model.nIter).toBeLessThan(10);
    expect(Array.from(model.predict(toy))).toEqual([0, 1, 1]);
  });

  it('warns at max_iter=1 and counts one iteration (scikit-learn test_convergence_warning)', () => {
    // Prepare
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);

    // Act
    const model = new LabelSpreading({ kernel: 'rbf', maxIter: 1, onWarning }).fit(toy, toyLabels);
    new LabelSpreading({ kernel: 'rbf', maxIter: 500, onWarning }).fit(toy, toyLabels);

    // Assess
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBeInstanceOf(ConvergenceWarning);
    expect(warnings[0].message).toBe('max_iter=1 was reached without convergence.');
    expect(model.nIter).toBe(1);
    expect(model.terminationReason).toBe('max_iter');
  });

  it('does not divide by zero with duplicate points and k=1 (scikit-learn test_label_propagation_non_zero_normalizer)', () => {
    // Prepare
    const X = fromRows([
      [100, 100],
      [100, 100],
      [0, 0],
      [0, 0],
    ]);

    // Act
    const model = new LabelSpreading({ kernel: 'knn', maxIter: 100, nNeighbors: 1 }).fit(
      X,
      Int32Array.from([0, 1, -1, -1]),
    );

    // Assess: point 1 links to point 0 (lower index at equal distance), 2 and 3 are unreached
    expect(model.labelDistributions.every((v) => Number.isFinite(v))).toBe(true);
    expect(Array.from(model.labelDistributions.subarray(4))).toEqual([0, 0, 0, 0]);
    expect(model.labelDistributions[0]).toBe(1);
    expect(model.labelDistributions[2]).toBeCloseTo(1 / 6, 12);
  });

  it('rejects alpha outside the open interval (0, 1)', () => {
    // Prepare / Act / Assess
    for (const alpha of [0, 1, -0.1, 1.5, Number.NaN]) {
      expect(() => new LabelSpreading({ alpha })).toThrow(/open interval \(0, 1\)/);
    }
    expect(() => new LabelSpreading({ alpha: 0.999 })).not.toThrow();
  });

  it('uses scikit-learn defaults', () => {
    // Prepare / Act
    const model = new LabelSpreading();

    // Assess
    expect([model.kernel, model.gamma, model.nNeighbors, model.alpha, model.maxIter, model.tol]).toEqual([
      'rbf',
      20,
      7,
      0.2,
      30,
      1e-3,
    ]);
  });
});
