import { inverse, Matrix } from 'ml-matrix';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConvergenceWarning, NoLabelledSamplesError, NotFittedError } from '../../lib/algorithms/errors.ts';
import { LabelPropagation } from '../../lib/algorithms/labelPropagation.ts';
import { type FeatureMatrix, featureMatrix, fromRows } from '../../lib/data/featureMatrix.ts';
import { isCsr } from '../../lib/graph/affinity.ts';
import { csrToDense } from '../../lib/graph/csrGraph.ts';
import { DenseKernelTooLargeError } from '../../lib/graph/errors.ts';
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

function denseOf(graph: ReturnType<LabelPropagation['buildGraph']>): Float64Array {
  return isCsr(graph) ? csrToDense(graph) : graph.data;
}

/** Zhu & Ghahramani (2002): Y_u = (I - T_uu)^-1 T_ul Y_l, labelled rows one-hot, rows normalised. */
function closedForm(T: Float64Array, y: Int32Array, k: number): number[][] {
  const n = y.length;
  const unlabelled = [...y.keys()].filter((i) => y[i] === -1);
  const labelled = [...y.keys()].filter((i) => y[i] !== -1);
  const Tuu = new Matrix(unlabelled.map((i) => unlabelled.map((j) => T[i * n + j])));
  const Tul = new Matrix(unlabelled.map((i) => labelled.map((j) => T[i * n + j])));
  const Yl = new Matrix(labelled.map((i) => Array.from({ length: k }, (_, c) => (y[i] === c ? 1 : 0))));
  const Yu = inverse(Matrix.eye(unlabelled.length).sub(Tuu)).mmul(Tul).mmul(Yl);
  const expected: number[][] = Array.from({ length: n }, (_, i) =>
    Array.from({ length: k }, (_, c) => (y[i] === c ? 1 : 0)),
  );
  unlabelled.forEach((i, r) => {
    expected[i] = Yu.getRow(r);
  });
  return expected.map((row) => {
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

const quiet = { onWarning: () => {} };

describe('LabelPropagation', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ['rbf', { kernel: 'rbf', gamma: 0.1 }],
    ['knn', { kernel: 'knn', nNeighbors: 7 }],
  ] as const)('matches the closed form of Zhu & Ghahramani (%s kernel)', (_, kernelParams) => {
    // Prepare
    const { X, y } = blobs(200, 5, 42);
    const model = new LabelPropagation({ ...kernelParams, maxIter: 10_000, tol: 1e-12 });
    const expected = closedForm(denseOf(model.buildGraph(X)), y, 2);

    // Act
    model.fit(X, y);

    // Assess
    expect(model.converged).toBe(true);
    expectRowsClose(model.labelDistributions, expected, 1e-8);
  });

  it('keeps labelled rows clamped to their labels', () => {
    // Prepare
    const { X, y } = blobs(60, 3, 3);

    // Act
    const model = new LabelPropagation({ kernel: 'knn', nNeighbors: 5 }).fit(X, y);

    // Assess
    for (let i = 0; i < y.length; i++) {
      if (y[i] === -1) continue;
      expect(model.labelDistributions[i * 2 + y[i]]).toBe(1);
      expect(model.transduction[i]).toBe(y[i]);
    }
  });

  // scikit-learn test_fit_transduction, test_predict, test_predict_proba
  it.each([
    ['rbf', { kernel: 'rbf' }],
    ['knn', { kernel: 'knn', nNeighbors: 2 }],
  ] as const)('transduces, predicts and gives probabilities like scikit-learn (%s)', (_, params) => {
    // Prepare
    const model = new LabelPropagation(params);
    const other = new LabelPropagation(params);

    // Act
    model.fit(
      fromRows([
        [1, 0],
        [0, 2],
        [1, 3],
      ]),
      Int32Array.from([0, 1, -1]),
    );
    other.fit(
      fromRows([
        [1, 0],
        [0, 1],
        [1, 2.5],
      ]),
      Int32Array.from([0, 1, -1]),
    );

    // Assess
    expect(model.transduction[2]).toBe(1);
    expect(Array.from(model.predict(fromRows([[0.5, 2.5]])))).toEqual([1]);
    const proba = other.predictProba(fromRows([[1, 1]]));
    expect(proba[0]).toBeCloseTo(0.5, 7);
    expect(proba[1]).toBeCloseTo(0.5, 7);
  });

  it('spreads evenly between two equidistant labels (scikit-learn test_distribution, rbf)', () => {
    // Prepare
    const X = fromRows([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);

    // Act
    const model = new LabelPropagation().fit(X, Int32Array.from([0, 1, -1]));

    // Assess
    expect(Math.abs(model.labelDistributions[4] - 0.5)).toBeLessThan(1e-2);
    expect(Math.abs(model.labelDistributions[5] - 0.5)).toBeLessThan(1e-2);
  });

  it('warns at max_iter=1 and counts one iteration (scikit-learn test_convergence_warning)', () => {
    // Prepare
    const X = fromRows([
      [1, 0],
      [0, 1],
      [1, 2.5],
    ]);
    const y = Int32Array.from([0, 1, -1]);
    const warnings: Error[] = [];

    // Act
    const model = new LabelPropagation({ kernel: 'rbf', maxIter: 1, onWarning: (w) => warnings.push(w) }).fit(X, y);
    const patient = new LabelPropagation({ kernel: 'rbf', maxIter: 500, onWarning: (w) => warnings.push(w) }).fit(X, y);

    // Assess
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBeInstanceOf(ConvergenceWarning);
    expect(warnings[0].message).toBe('max_iter=1 was reached without convergence.');
    expect(model.nIter).toBe(1);
    expect(model.converged).toBe(false);
    expect(model.terminationReason).toBe('max_iter');
    expect(patient.converged).toBe(true);
    expect(patient.terminationReason).toBe('converged');
  });

  it('emits the warning through process.emitWarning by default', () => {
    // Prepare
    const emitted = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const X = fromRows([
      [1, 0],
      [0, 1],
      [1, 2.5],
    ]);

    // Act
    new LabelPropagation({ maxIter: 1 }).fit(X, Int32Array.from([0, 1, -1]));

    // Assess
    expect(emitted).toHaveBeenCalledTimes(1);
    const warning = emitted.mock.calls[0][0] as Error;
    expect(warning.name).toBe('ConvergenceWarning');
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
    const model = new LabelPropagation({ kernel: 'knn', maxIter: 100, nNeighbors: 1 }).fit(
      X,
      Int32Array.from([0, 1, -1, -1]),
    );

    // Assess
    expect(model.labelDistributions.every((v) => Number.isFinite(v))).toBe(true);
    expect(Array.from(model.labelDistributions)).toEqual([1, 0, 0, 1, 0, 0, 0, 0]);
  });

  it('reports classes that are not 0..k-1 in transduction and predict', () => {
    // Prepare
    const X = fromRows([[0], [0.1], [5], [5.1], [0.05], [5.05]]);
    const y = Int32Array.from([2, -1, 7, -1, -1, -1]);

    // Act
    const model = new LabelPropagation({ kernel: 'knn', nNeighbors: 2 }).fit(X, y);

    // Assess
    expect(Array.from(model.classes)).toEqual([2, 7]);
    expect(Array.from(model.transduction)).toEqual([2, 2, 7, 7, 2, 7]);
    expect(Array.from(model.predict(fromRows([[0.02], [4.9]])))).toEqual([2, 7]);
  });

  it('predicts new points from their k nearest training points (knn)', () => {
    // Prepare
    const X = fromRows([[0], [1], [2], [3]]);
    const model = new LabelPropagation({ kernel: 'knn', nNeighbors: 2, ...quiet }).fit(
      X,
      Int32Array.from([0, -1, -1, 1]),
    );
    const F = model.labelDistributions;

    // Act
    const proba = model.predictProba(fromRows([[0.4], [2.6]]));

    // Assess: 0.4 -> training points 0 and 1; 2.6 -> 3 and 2
    const row = (a: number, b: number) => {
      const s0 = F[a * 2] + F[b * 2];
      const s1 = F[a * 2 + 1] + F[b * 2 + 1];
      return [s0 / (s0 + s1), s1 / (s0 + s1)];
    };
    expectRowsClose(proba, [row(0, 1), row(3, 2)], 1e-15);
  });

  it('fits the sparse knn-rbf kernel', () => {
    // Prepare
    const X = fromRows([[0], [0.2], [0.4], [10], [10.2], [10.4]]);

    // Act
    const model = new LabelPropagation({ kernel: 'knn-rbf', nNeighbors: 3, gamma: 1 }).fit(
      X,
      Int32Array.from([0, -1, -1, 1, -1, -1]),
    );

    // Assess
    expect(Array.from(model.transduction)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(model.converged).toBe(true);
  });

  it('refuses a dense rbf kernel above its bound and points to knn', () => {
    // Prepare
    const { X, y } = blobs(30, 2, 1);
    const model = new LabelPropagation({ kernel: 'rbf', denseLimits: { maxN: 20 } });

    // Act / Assess
    expect(() => model.fit(X, y)).toThrow(DenseKernelTooLargeError);
    expect(() => model.fit(X, y)).toThrow(/kernel 'knn'/);
  });

  it('validates parameters on construction', () => {
    // Prepare / Act / Assess
    expect(() => new LabelPropagation({ gamma: 0 })).toThrow(RangeError);
    expect(() => new LabelPropagation({ gamma: -1 })).toThrow(/gamma/);
    expect(() => new LabelPropagation({ nNeighbors: 0 })).toThrow(/nNeighbors/);
    expect(() => new LabelPropagation({ nNeighbors: 2.5 })).toThrow(/nNeighbors/);
    expect(() => new LabelPropagation({ maxIter: 0 })).toThrow(/maxIter/);
    expect(() => new LabelPropagation({ maxIter: 1.5 })).toThrow(/maxIter/);
    expect(() => new LabelPropagation({ tol: -1e-3 })).toThrow(/tol/);
    expect(() => new LabelPropagation({ kernel: 'linear' as never })).toThrow(/kernel/);
    expect(() => new LabelPropagation({ tol: 0, maxIter: 1 })).not.toThrow();
  });

  it('validates the data on fit', () => {
    // Prepare
    const X = fromRows([[0], [1], [2]]);
    const model = new LabelPropagation({ kernel: 'knn', nNeighbors: 4 });

    // Act / Assess
    expect(() => model.fit(X, Int32Array.from([0, 1, -1]))).toThrow(/nNeighbors=4 .* n=3/);
    expect(() => new LabelPropagation().fit(X, Int32Array.from([-1, -1, -1]))).toThrow(NoLabelledSamplesError);
    expect(() => new LabelPropagation().fit(X, Int32Array.from([0, 1]))).toThrow(/2 labels but X has 3 rows/);
    expect(() => new LabelPropagation().fit(X, Int32Array.from([0, -2, 1]))).toThrow(RangeError);
  });

  it('refuses to predict before fit', () => {
    // Prepare
    const model = new LabelPropagation();

    // Act / Assess
    expect(() => model.predict(fromRows([[0]]))).toThrow(NotFittedError);
  });

  it('refuses new points with another number of features', () => {
    // Prepare
    const model = new LabelPropagation().fit(fromRows([[0], [1]]), Int32Array.from([0, 1]));

    // Act / Assess
    expect(() => model.predictProba(fromRows([[0, 1]]))).toThrow(/features/);
  });
});
