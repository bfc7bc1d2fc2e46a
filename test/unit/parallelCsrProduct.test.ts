import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { propagateLabels, propagateRenumbered } from '../../lib/algorithms/propagation.ts';
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
    // Prepare: cores = 2 takes the two-thread path whatever this machine has (on one core the threads interleave)
    const graph = randomGraph(3000, 1);
    const k = 5;
    const random = seededUniform(2);
    const product = ParallelCsrProduct.open(graph, k, 2);
    expect(product).toBeInstanceOf(ParallelCsrProduct);
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

  it('is not opened on one core: the product then runs in one thread', () => {
    // Act
    const product = ParallelCsrProduct.open(randomGraph(100, 5), 3, 1);
    // Assess
    expect(product).toBeUndefined();
  });
});

describe('label spreading past PARALLEL_PRODUCT_FROM_ROWS', () => {
  // A graph past the threshold and labels on 1% of its rows.
  const n = PARALLEL_PRODUCT_FROM_ROWS;
  const graph = randomGraph(n, 3);
  const random = seededUniform(4);
  const y = Int32Array.from({ length: n }, () => (random() < 0.01 ? Math.floor(random() * 3) : -1));
  const options = { alpha: 0.2, maxIter: 5, tol: 0 };

  it('gives the same distributions with the product split over two threads, in one thread, and unsplit', () => {
    // Act: two cores, one core, and an operator (never split, never renumbered)
    const split = propagateRenumbered(graph, y, 3, options, { cores: 2 });
    const inline = propagateRenumbered(graph, y, 3, options, { cores: 1 });
    const single = propagateLabels({ n, multiply: (Y, k, out) => csrMultiply(graph, Y, k, out) }, y, 3, options);

    // Assess: each took the path asked for, to the same doubles
    expect([split.productThreads, inline.productThreads, single.productThreads]).toEqual([2, 1, 1]);
    expect(split.nIter).toBe(single.nIter);
    expect(split.distributions).toEqual(single.distributions);
    expect(inline.distributions).toEqual(single.distributions);
  });

  it('splits the product exactly when this machine has two cores', () => {
    // Act
    const result = propagateLabels(graph, y, 3, options);
    // Assess
    expect(result.productThreads).toBe(availableParallelism() >= 2 ? 2 : 1);
  });
});
