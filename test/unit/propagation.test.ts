import { describe, expect, it } from 'vitest';
import {
  initialDistributions,
  normalizeRows,
  propagateLabels,
  propagationStep,
} from '../../lib/algorithms/propagation.ts';
import { fromRows } from '../../lib/data/featureMatrix.ts';
import { type AffinityOperator, affinityOperator } from '../../lib/graph/affinity.ts';
import { knnConnectivity } from '../../lib/graph/knnKernel.ts';
import { normalizedLaplacianAffinity } from '../../lib/graph/normalizedLaplacian.ts';
import { rowNormalize } from '../../lib/graph/rowNormalize.ts';

/** Two clusters on a line, far apart; labels only in the first. */
const X = fromRows([[0], [0.1], [0.2], [0.3], [50], [50.1], [50.2]]);
const y = Int32Array.from([0, -1, 1, -1, -1, -1, -1]);

describe('propagateLabels', () => {
  it('leaves rows no label reaches at zero instead of NaN', () => {
    // Prepare
    const graph = rowNormalize(knnConnectivity(X, 2));

    // Act
    const result = propagateLabels(graph, y, 2, { alpha: null, maxIter: 1000, tol: 1e-3 });

    // Assess
    expect(Array.from(result.distributions.subarray(8))).toEqual([0, 0, 0, 0, 0, 0]);
    for (let i = 0; i < 4; i++)
      expect(result.distributions[i * 2] + result.distributions[i * 2 + 1]).toBeCloseTo(1, 14);
  });

  it('records one delta per update, the last below tol when converged', () => {
    // Prepare
    const graph = normalizedLaplacianAffinity(knnConnectivity(X, 3));
    const tol = 1e-6;

    // Act
    const result = propagateLabels(graph, y, 2, { alpha: 0.5, maxIter: 200, tol });

    // Assess
    expect(result.converged).toBe(true);
    expect(result.deltas).toHaveLength(result.nIter);
    expect(result.deltas[result.nIter - 1]).toBeLessThan(tol);
    expect(result.deltas.slice(0, -1).every((d) => d >= tol)).toBe(true);
  });

  it('stops before any update when the initial change is below tol (scikit-learn counts n_iter=0)', () => {
    // Prepare: two labelled rows make sum |F0 - 0| = 2
    const graph = rowNormalize(knnConnectivity(X, 2));

    // Act
    const result = propagateLabels(graph, y, 2, { alpha: null, maxIter: 10, tol: 2.5 });

    // Assess
    expect(result.nIter).toBe(0);
    expect(result.converged).toBe(true);
    expect(result.deltas).toEqual([]);
    expect(Array.from(result.distributions.subarray(0, 6))).toEqual([1, 0, 0, 0, 0, 1]);
  });

  it('counts max_iter updates without convergence', () => {
    // Prepare
    const graph = rowNormalize(knnConnectivity(X, 3));

    // Act
    const result = propagateLabels(graph, y, 2, { alpha: null, maxIter: 3, tol: 0 });

    // Assess
    expect(result.nIter).toBe(3);
    expect(result.converged).toBe(false);
    expect(result.deltas).toHaveLength(3);
  });

  it('accepts any AffinityOperator, so a reducer can supply its own product', () => {
    // Prepare
    const graph = normalizedLaplacianAffinity(knnConnectivity(X, 3));
    const inner = affinityOperator(graph);
    let calls = 0;
    const counting: AffinityOperator = {
      n: inner.n,
      multiply: (Y, k, out) => {
        calls++;
        inner.multiply(Y, k, out);
      },
    };
    const options = { alpha: 0.3, maxIter: 30, tol: 1e-3 };

    // Act
    const viaOperator = propagateLabels(counting, y, 2, options);
    const viaGraph = propagateLabels(graph, y, 2, options);

    // Assess
    expect(calls).toBe(viaOperator.nIter);
    expect(viaOperator.distributions).toEqual(viaGraph.distributions);
  });

  it('can be driven one step at a time with the same result', () => {
    // Prepare
    const operator = affinityOperator(normalizedLaplacianAffinity(knnConnectivity(X, 3)));
    const options = { alpha: 0.2, maxIter: 4, tol: 0 };
    let current: Float64Array = initialDistributions(y, 2);
    let next: Float64Array = new Float64Array(current.length);

    // Act
    for (let it = 0; it < options.maxIter; it++) {
      propagationStep(operator, y, 2, options.alpha, current, next);
      [current, next] = [next, current];
    }
    normalizeRows(current, 2);

    // Assess
    expect(current).toEqual(propagateLabels(operator, y, 2, options).distributions);
  });

  it('validates labels and options', () => {
    // Prepare
    const graph = rowNormalize(knnConnectivity(X, 2));
    const options = { alpha: null, maxIter: 10, tol: 1e-3 };

    // Act / Assess
    expect(() => propagateLabels(graph, y.subarray(1), 2, options)).toThrow(/6 labels .* n=7/);
    expect(() => propagateLabels(graph, Int32Array.from([0, 2, -1, -1, -1, -1, -1]), 2, options)).toThrow(/-1\.\.1/);
    expect(() => propagateLabels(graph, y, 2, { ...options, alpha: 1 })).toThrow(/open interval/);
    expect(() => propagateLabels(graph, y, 2, { ...options, maxIter: 0 })).toThrow(/maxIter/);
    expect(() => propagateLabels(graph, y, 2, { ...options, tol: Number.NaN })).toThrow(/tol/);
  });
});
