import { describe, expect, it } from 'vitest';
import { type FeatureMatrix, featureMatrix, fromRows } from '../../lib/data/featureMatrix.ts';
import { affinityOperator } from '../../lib/graph/affinity.ts';
import { type CsrGraph, csrGraph, csrMultiply, csrToDense } from '../../lib/graph/csrGraph.ts';
import { type DenseGraph, denseMultiply } from '../../lib/graph/denseGraph.ts';
import { DenseKernelTooLargeError } from '../../lib/graph/errors.ts';
import { buildAffinity, inductiveProduct } from '../../lib/graph/kernel.ts';
import { knnConnectivity } from '../../lib/graph/knnKernel.ts';
import { knnRbfGraph } from '../../lib/graph/knnRbfKernel.ts';
import { knnSearch } from '../../lib/graph/knnSearch.ts';
import { normalizedLaplacianAffinity } from '../../lib/graph/normalizedLaplacian.ts';
import { checkDenseKernelSize, rbfKernel } from '../../lib/graph/rbfKernel.ts';
import { rowNormalize } from '../../lib/graph/rowNormalize.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';
import { squaredDistance } from '../../lib/linalg/squaredDistances.ts';

function randomArray(length: number, seed: number): Float64Array {
  const rand = seededUniform(seed);
  return Float64Array.from({ length }, () => rand() * 2 - 1);
}

function randomMatrix(n: number, d: number, seed: number): FeatureMatrix {
  return featureMatrix(randomArray(n * d, seed), n, d);
}

function naiveProduct(A: Float64Array, n: number, Y: Float64Array, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += A[i * n + j] * Y[j * k + c];
      out[i * k + c] = s;
    }
  return out;
}

function denseToCsr(A: Float64Array, n: number): CsrGraph {
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = n - 1; j >= 0; j--) {
      // reversed column order: CSR rows need not be sorted
      if (A[i * n + j] !== 0) {
        indices.push(j);
        data.push(A[i * n + j]);
      }
    }
    indptr[i + 1] = indices.length;
  }
  return csrGraph(n, indptr, Int32Array.from(indices), Float64Array.from(data));
}

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(tolerance);
}

describe('sparse and dense products', () => {
  it('multiplies CSR and dense graphs like the naive triple loop (odd sizes)', () => {
    // Prepare
    const n = 7;
    const k = 3;
    const A = randomArray(n * n, 1).map((v) => (v > 0.2 ? v : 0));
    const Y = randomArray(n * k, 2);
    const expected = naiveProduct(A, n, Y, k);
    const csrOut = new Float64Array(n * k);
    const denseOut = new Float64Array(n * k).fill(99);

    // Act
    csrMultiply(denseToCsr(A, n), Y, k, csrOut);
    denseMultiply({ n, data: A }, Y, k, denseOut);

    // Assess
    expectAllClose(csrOut, expected);
    expectAllClose(denseOut, expected);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 10, 11])(
    'adds each row in entry order, the same doubles as a plain loop (k=%i)',
    (k) => {
      // Prepare
      const n = 9;
      const A = randomArray(n * n, 5).map((v) => (v > -0.3 ? v * 1e3 : 0));
      const graph = denseToCsr(A, n);
      const Y = randomArray(n * k, 6).map((v, i) => (i % 5 === 0 ? v * 1e-9 : v));
      const plain = new Float64Array(n * k);
      for (let i = 0; i < n; i++) {
        for (let p = graph.indptr[i]; p < graph.indptr[i + 1]; p++) {
          for (let c = 0; c < k; c++) plain[i * k + c] += graph.data[p] * Y[graph.indices[p] * k + c];
        }
      }
      const out = new Float64Array(n * k).fill(Number.NaN);

      // Act
      csrMultiply(graph, Y, k, out);

      // Assess
      expect(out).toEqual(plain);
    },
  );

  it('exposes both storages through one operator', () => {
    // Prepare
    const n = 5;
    const A = randomArray(n * n, 3);
    const Y = randomArray(n * 2, 4);
    const fromDense = new Float64Array(n * 2);
    const fromCsr = new Float64Array(n * 2);

    // Act
    affinityOperator({ n, data: A }).multiply(Y, 2, fromDense);
    affinityOperator(denseToCsr(A, n)).multiply(Y, 2, fromCsr);

    // Assess
    expectAllClose(fromCsr, fromDense);
    expectAllClose(fromDense, naiveProduct(A, n, Y, 2));
  });

  it('rejects malformed CSR arrays', () => {
    // Prepare / Act / Assess
    expect(() => csrGraph(2, new Int32Array([0, 1]), new Int32Array([0]), new Float64Array([1]))).toThrow(/indptr/);
    expect(() => csrGraph(2, new Int32Array([0, 1, 2]), new Int32Array([0, 2]), new Float64Array(2))).toThrow(
      /out of range/,
    );
    expect(() => csrGraph(2, new Int32Array([0, 2, 1]), new Int32Array([0, 1]), new Float64Array(2))).toThrow(
      RangeError,
    );
  });
});

describe('knn connectivity kernel', () => {
  it('puts weight 1 on the k nearest points, the point itself included', () => {
    // Prepare
    const X = randomMatrix(40, 3, 5);
    const k = 4;

    // Act
    const graph = knnConnectivity(X, k);

    // Assess
    const neighbors = knnSearch(X, X, k);
    for (let i = 0; i < X.n; i++) {
      const row = Array.from(graph.indices.subarray(graph.indptr[i], graph.indptr[i + 1]));
      expect(row).toEqual(Array.from(neighbors.indices.subarray(i * k, i * k + k)));
      expect(row).toContain(i);
    }
    expect(Array.from(new Set(graph.data))).toEqual([1]);
  });

  it('links a duplicate to its lower-index twin when k=1, as scikit-learn does', () => {
    // Prepare
    const X = fromRows([
      [100, 100],
      [100, 100],
      [0, 0],
      [0, 0],
    ]);

    // Act
    const graph = knnConnectivity(X, 1);

    // Assess
    expect(Array.from(graph.indices)).toEqual([0, 0, 2, 2]);
  });

  it('refuses more neighbours than points, naming both numbers', () => {
    // Prepare
    const X = randomMatrix(5, 2, 6);

    // Act / Assess
    expect(() => knnConnectivity(X, 6)).toThrow(/nNeighbors=6 .* n=5/);
    expect(() => knnConnectivity(X, 0)).toThrow(RangeError);
  });

  it('weights the same edges by exp(-gamma d^2) for knn-rbf', () => {
    // Prepare
    const X = randomMatrix(30, 3, 7);
    const gamma = 1.5;

    // Act
    const weighted = knnRbfGraph(X, 5, gamma);

    // Assess
    const plain = knnConnectivity(X, 5);
    expect(weighted.indices).toEqual(plain.indices);
    for (let i = 0; i < X.n; i++) {
      for (let p = weighted.indptr[i]; p < weighted.indptr[i + 1]; p++) {
        const j = weighted.indices[p];
        expect(weighted.data[p]).toBeCloseTo(Math.exp(-gamma * squaredDistance(X.data, i, X.data, j, X.d)), 14);
      }
    }
  });
});

describe('rbf kernel', () => {
  it('computes exp(-gamma ||x - y||^2) with ones on the diagonal', () => {
    // Prepare
    const X = randomMatrix(70, 4, 8);
    const gamma = 0.7;

    // Act
    const K = rbfKernel(X, gamma);

    // Assess
    for (let i = 0; i < X.n; i++) {
      expect(K.data[i * X.n + i]).toBe(1);
      for (let j = 0; j < X.n; j++) {
        const expected = Math.exp(-gamma * squaredDistance(X.data, i, X.data, j, X.d));
        expect(Math.abs(K.data[i * X.n + j] - expected)).toBeLessThanOrEqual(1e-15);
        expect(K.data[i * X.n + j]).toBe(K.data[j * X.n + i]);
      }
    }
  });

  it('refuses a dense kernel above the point bound and recommends knn', () => {
    // Prepare
    const X = randomMatrix(12, 2, 9);

    // Act
    const attempt = () => rbfKernel(X, 1, { maxN: 10 });

    // Assess
    expect(attempt).toThrow(DenseKernelTooLargeError);
    expect(attempt).toThrow(/n=12.*kernel 'knn'/);
  });

  it('refuses a dense kernel above the byte bound', () => {
    // Prepare
    const X = randomMatrix(12, 2, 9);

    // Act / Assess
    expect(() => rbfKernel(X, 1, { maxBytes: 1000 })).toThrow(DenseKernelTooLargeError);
    expect(() => rbfKernel(X, 1, { maxBytes: 12 * 12 * 8 })).not.toThrow();
  });

  it('applies the default bounds: n <= 20,000 and 2 GiB', () => {
    // Prepare / Act / Assess: checked without allocating
    expect(() => checkDenseKernelSize(16_384)).not.toThrow();
    expect(() => checkDenseKernelSize(16_385)).toThrow(DenseKernelTooLargeError);
    expect(() => checkDenseKernelSize(20_001, { maxBytes: 8 * 2 ** 30 })).toThrow(/n <= 20000/);
    expect(() => checkDenseKernelSize(20_000, { maxBytes: 8 * 2 ** 30 })).not.toThrow();
  });

  it('rejects a non-positive gamma', () => {
    // Prepare
    const X = randomMatrix(3, 2, 1);

    // Act / Assess
    expect(() => rbfKernel(X, 0)).toThrow(/gamma/);
    expect(() => rbfKernel(X, Number.NaN)).toThrow(/gamma/);
  });
});

describe('label propagation graph (row normalisation)', () => {
  // scikit-learn test_label_propagation_build_graph_normalized
  const affinity = [1, 1, 0, 2, 1, 1, 0, 1, 3];
  const expected = [0.5, 0.5, 0, 0.5, 0.25, 0.25, 0, 0.25, 0.75];

  it('normalises dense rows to sum 1', () => {
    // Prepare
    const graph: DenseGraph = { n: 3, data: Float64Array.from(affinity) };

    // Act
    rowNormalize(graph);

    // Assess
    expectAllClose(graph.data, expected);
  });

  it('normalises CSR rows to sum 1', () => {
    // Prepare
    const graph = denseToCsr(Float64Array.from(affinity), 3);

    // Act
    rowNormalize(graph);

    // Assess
    expectAllClose(csrToDense(graph), expected);
  });
});

describe('label spreading graph (normalised Laplacian)', () => {
  // An asymmetric graph with an isolated point (3); expected values from
  // -scipy.sparse.csgraph.laplacian(A, normed=True) with the diagonal zeroed (scipy 1.17)
  const A = [1, 1, 0, 0, 0, 2, 3, 0, 1, 0, 1, 0, 0, 0, 0, 1];
  const expected = [0, 1, 0, 0, 0, 0, 1.7320508075688774, 0, 0.5773502691896258, 0, 0, 0, 0, 0, 0, 0];

  it('uses in-degrees without the diagonal and the zero-degree guard (dense)', () => {
    // Prepare
    const graph: DenseGraph = { n: 4, data: Float64Array.from(A) };

    // Act
    normalizedLaplacianAffinity(graph);

    // Assess
    expectAllClose(graph.data, expected, 1e-15);
  });

  it('uses in-degrees without the diagonal and the zero-degree guard (CSR)', () => {
    // Prepare
    const graph = denseToCsr(Float64Array.from(A), 4);

    // Act
    normalizedLaplacianAffinity(graph);

    // Assess
    expectAllClose(csrToDense(graph), expected, 1e-15);
  });

  it('gives D^-1/2 W D^-1/2 for a symmetric rbf affinity', () => {
    // Prepare
    const X = randomMatrix(9, 2, 12);
    const W = rbfKernel(X, 2).data.slice();
    const n = 9;
    for (let i = 0; i < n; i++) W[i * n + i] = 0;
    const degree = Array.from({ length: n }, (_, i) => W.subarray(i * n, i * n + n).reduce((s, v) => s + v, 0));

    // Act
    const S = normalizedLaplacianAffinity(rbfKernel(X, 2));

    // Assess
    const expectedS = Array.from(W, (w, p) => w / Math.sqrt(degree[Math.floor(p / n)] * degree[p % n]));
    expectAllClose(S.data, expectedS, 1e-14);
  });
});

describe('kernel selection and inductive product', () => {
  it('builds the kernel named by the parameters', () => {
    // Prepare
    const X = randomMatrix(10, 2, 13);

    // Act
    const dense = buildAffinity(X, { kernel: 'rbf', gamma: 1, nNeighbors: 3 });
    const sparse = buildAffinity(X, { kernel: 'knn', gamma: 1, nNeighbors: 3 });

    // Assess
    expect('indptr' in dense).toBe(false);
    expect('indptr' in sparse && sparse.indices.length).toBe(30);
    expect(() => buildAffinity(X, { kernel: 'linear' as never, gamma: 1, nNeighbors: 3 })).toThrow(/kernel must be/);
  });

  it('sums label rows of the k nearest training points for knn, and rbf-weights them for rbf', () => {
    // Prepare
    const train = fromRows([[0], [1], [2], [10]]);
    const F = Float64Array.from([1, 0, 0.5, 0.5, 0, 1, 0.2, 0.8]);
    const fresh = fromRows([[0.9], [9]]);

    // Act
    const knn = inductiveProduct(train, fresh, { kernel: 'knn', gamma: 1, nNeighbors: 2 }, F, 2);
    const rbf = inductiveProduct(train, fresh, { kernel: 'rbf', gamma: 0.5, nNeighbors: 2 }, F, 2);

    // Assess: 0.9's neighbours are 1 then 0; 9's are 10 then 2
    expectAllClose(knn, [1.5, 0.5, 0.2, 1.8]);
    const w = (a: number, b: number) => Math.exp(-0.5 * (a - b) ** 2);
    const expectedRbf: number[] = [];
    for (const [r, x] of [0.9, 9].entries()) {
      for (let c = 0; c < 2; c++) {
        let s = 0;
        for (let j = 0; j < 4; j++) s += w(x, train.data[j]) * F[j * 2 + c];
        expectedRbf[r * 2 + c] = s;
      }
    }
    expectAllClose(rbf, expectedRbf, 1e-15);
  });
});
