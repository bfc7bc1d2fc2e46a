import { describe, expect, it } from 'vitest';
import { propagateLabels, propagateRenumbered } from '../../lib/algorithms/propagation.ts';
import { affinityOperator } from '../../lib/graph/affinity.ts';
import { type CsrGraph, csrGraph, csrMultiply } from '../../lib/graph/csrGraph.ts';
import { breadthFirstOrder, LOCALITY_FROM_ROWS, renumberCsr } from '../../lib/graph/localityOrder.ts';
import { normalizedLaplacianAffinity } from '../../lib/graph/normalizedLaplacian.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';

/**
 * A symmetric graph of n rows on a ring, each joined to `reach` rows on either side, with the rows numbered at
 * random: neighbours far apart in number, as a kNN graph's rows are in input order.
 */
function shuffledRing(n: number, reach: number, seed: number): CsrGraph {
  const rand = seededUniform(seed);
  const label = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [label[i], label[j]] = [label[j], label[i]];
  }
  const rowOf = new Int32Array(n);
  for (let i = 0; i < n; i++) rowOf[label[i]] = i;
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  for (let row = 0; row < n; row++) {
    const at = label[row];
    for (let step = 1; step <= reach; step++) {
      indices.push(rowOf[(at + step) % n], rowOf[(at - step + n) % n]);
    }
    indptr[row + 1] = indices.length;
  }
  const data = Float64Array.from(indices, () => 1);
  return normalizedLaplacianAffinity(csrGraph(n, indptr, Int32Array.from(indices), data));
}

function labelsFor(n: number, seed: number): Int32Array {
  const rand = seededUniform(seed);
  return Int32Array.from({ length: n }, () => (rand() < 0.01 ? Math.floor(rand() * 3) : -1));
}

describe('breadthFirstOrder', () => {
  it('numbers every row once, a component after another, neighbours before their neighbours', () => {
    // Prepare: two components {0, 2, 4} (0-4, 4-2) and {1, 3} (3-1), rows in scattered order
    const graph = csrGraph(
      5,
      Int32Array.from([0, 1, 2, 3, 4, 6]),
      Int32Array.from([4, 3, 4, 1, 0, 2]),
      Float64Array.from([1, 1, 1, 1, 1, 1]),
    );

    // Act
    const order = breadthFirstOrder(graph);

    // Assess
    expect(Array.from(order)).toEqual([0, 4, 2, 1, 3]);
  });

  it('gives neighbours nearby numbers', () => {
    // Prepare
    const graph = shuffledRing(4000, 3, 1);
    const order = breadthFirstOrder(graph);
    const position = new Int32Array(graph.n);
    for (let r = 0; r < graph.n; r++) position[order[r]] = r;
    const meanGap = (number: (row: number) => number) => {
      let sum = 0;
      for (let i = 0; i < graph.n; i++) {
        for (let p = graph.indptr[i]; p < graph.indptr[i + 1]; p++)
          sum += Math.abs(number(i) - number(graph.indices[p]));
      }
      return sum / graph.indptr[graph.n];
    };

    // Act
    const before = meanGap((row) => row);
    const after = meanGap((row) => position[row]);

    // Assess: about n/3 apart in random order; breadth first along a ring, a few rows apart
    expect(Array.from(order).sort((a, b) => a - b)).toEqual(Array.from({ length: graph.n }, (_, i) => i));
    expect(before).toBeGreaterThan(1000);
    expect(after).toBeLessThan(10);
  });
});

describe('renumberCsr', () => {
  it('gives every row the same product, bit for bit', () => {
    // Prepare
    const graph = shuffledRing(3000, 4, 2);
    const order = breadthFirstOrder(graph);
    const renumbered = renumberCsr(graph, order);
    const k = 3;
    const rand = seededUniform(3);
    const Y = Float64Array.from({ length: graph.n * k }, () => rand());
    const gathered = new Float64Array(graph.n * k);
    for (let r = 0; r < graph.n; r++) for (let c = 0; c < k; c++) gathered[r * k + c] = Y[order[r] * k + c];
    const expected = new Float64Array(graph.n * k);
    const actual = new Float64Array(graph.n * k);

    // Act
    csrMultiply(graph, Y, k, expected);
    csrMultiply(renumbered, gathered, k, actual);

    // Assess
    for (let r = 0; r < graph.n; r++) {
      for (let c = 0; c < k; c++) expect(actual[r * k + c]).toBe(expected[order[r] * k + c]);
    }
  });

  it('makes the same graph in shared memory when asked, for the two-thread product', () => {
    // Prepare
    const graph = shuffledRing(500, 3, 4);
    const order = breadthFirstOrder(graph);

    // Act
    const plain = renumberCsr(graph, order);
    const shared = renumberCsr(graph, order, true);

    // Assess
    for (const array of [shared.indptr, shared.indices, shared.data]) {
      expect(array.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    expect(plain.indices.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(shared.indptr)).toEqual(Array.from(plain.indptr));
    expect(Array.from(shared.indices)).toEqual(Array.from(plain.indices));
    expect(Array.from(shared.data)).toEqual(Array.from(plain.data));
  });
});

describe('propagateRenumbered', () => {
  const options = { alpha: 0.2, maxIter: 30, tol: 1e-3 };

  it('gives the distributions of propagation in row order, bit for bit, and the same iterations', () => {
    // Prepare
    const graph = shuffledRing(5000, 5, 4);
    const y = labelsFor(graph.n, 5);

    // Act
    const plain = propagateLabels(affinityOperator(graph), y, 3, options);
    const renumbered = propagateRenumbered(graph, y, 3, options);

    // Assess
    expect(renumbered.distributions).toEqual(plain.distributions);
    expect(renumbered.nIter).toBe(plain.nIter);
    expect(renumbered.converged).toBe(plain.converged);
    expect(renumbered.deltas).toHaveLength(plain.deltas.length);
    for (const [i, delta] of renumbered.deltas.entries()) expect(delta).toBeCloseTo(plain.deltas[i], 9);
  });

  it('is what propagateLabels runs on a CSR graph of LOCALITY_FROM_ROWS rows', () => {
    // Prepare
    const graph = shuffledRing(LOCALITY_FROM_ROWS, 2, 6);
    const y = labelsFor(graph.n, 7);

    // Act
    const plain = propagateLabels(affinityOperator(graph), y, 3, { ...options, maxIter: 5 });
    const chosen = propagateLabels(graph, y, 3, { ...options, maxIter: 5 });

    // Assess
    expect(chosen.distributions).toEqual(plain.distributions);
    expect(chosen.distributions.some((v) => v > 0)).toBe(true);
  });
});
