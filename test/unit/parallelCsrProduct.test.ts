import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { propagateLabels } from '../../lib/algorithms/propagation.ts';
import { type CsrGraph, csrMultiply } from '../../lib/graph/csrGraph.ts';
import { PARALLEL_PRODUCT_FROM_ROWS, ParallelCsrProduct } from '../../lib/graph/parallelCsrProduct.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';

/** n rows of 1 to 12 entries each, columns anywhere, weights in [0, 1). */
function randomGraph(n: number, seed: number): CsrGraph {
  const random = seededUniform(seed);
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let i = 0; i < n; i++) {
    const entries = 1 + Math.floor(random() * 12);
    const columns = new Set<number>();
    while (columns.size < entries) columns.add(Math.floor(random() * n));
    for (const column of columns) {
      indices.push(column);
      data.push(random());
    }
    indptr[i + 1] = indices.length;
  }
  return { n, indptr, indices: Int32Array.from(indices), data: Float64Array.from(data) };
}

describe('ParallelCsrProduct', () => {
  it('multiplies over two threads to the same doubles as csrMultiply, in both directions of the blocks', () => {
    // Prepare
    const graph = randomGraph(3000, 1);
    const k = 5;
    const random = seededUniform(2);
    const product = ParallelCsrProduct.open(graph, k);
    if (availableParallelism() < 2) {
      expect(product).toBeUndefined();
      return;
    }
    expect(product).toBeDefined();
    if (!product) return;
    try {
      const [a, b] = product.blocks;
      for (let i = 0; i < a.length; i++) a[i] = random();
      const expected = new Float64Array(a.length);

      // Act and assess: a -> b, then b -> a, twice
      for (let round = 0; round < 2; round++) {
        csrMultiply(graph, a, k, expected);
        product.multiply(a, k, b);
        expect(b).toEqual(expected);
        csrMultiply(graph, b, k, expected);
        product.multiply(b, k, a);
        expect(a).toEqual(expected);
      }
      // other operands: multiplied in this thread, same result
      const other = new Float64Array(a.length);
      product.multiply(a, k, other);
      csrMultiply(graph, a, k, expected);
      expect(other).toEqual(expected);
    } finally {
      product.close();
    }
  });

  it('gives label spreading the same distributions whether the product is split or not', () => {
    // Prepare: a graph past the threshold, once as is and once through an operator (never split)
    const n = PARALLEL_PRODUCT_FROM_ROWS;
    const graph = randomGraph(n, 3);
    const random = seededUniform(4);
    const y = Int32Array.from({ length: n }, () => (random() < 0.01 ? Math.floor(random() * 3) : -1));
    const options = { alpha: 0.2, maxIter: 5, tol: 0 };

    // Act
    const split = propagateLabels(graph, y, 3, options);
    const single = propagateLabels({ n, multiply: (Y, k, out) => csrMultiply(graph, Y, k, out) }, y, 3, options);

    // Assess
    expect(split.nIter).toBe(single.nIter);
    expect(split.distributions).toEqual(single.distributions);
  });
});
