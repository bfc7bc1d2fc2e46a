import { describe, expect, it } from 'vitest';
import { propagateLabels, propagateRenumbered } from '../../lib/algorithms/propagation.ts';
import { affinityOperator } from '../../lib/graph/affinity.ts';
import { type CsrGraph, csrGraph, csrMultiply } from '../../lib/graph/csrGraph.ts';
import { LOCALITY_FROM_ROWS, renumberBreadthFirst } from '../../lib/graph/localityOrder.ts';
import { normalizedLaplacianAffinity } from '../../lib/graph/normalizedLaplacian.ts';
import { rowNormalize } from '../../lib/graph/rowNormalize.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';

/**
 * A symmetric graph of n rows on a ring, each joined to `reach` rows on either side, with the rows numbered at
 * random: neighbours far apart in number, as a kNN graph's rows are in input order.
 */
function shuffledRing(n: number, reach: number, seed: number): CsrGraph {
  return normalizedLaplacianAffinity(ringAffinity(n, reach, seed));
}

/** shuffledRing's affinity before normalisation: weight 1 on every entry, or random weights when `weighted`. */
function ringAffinity(n: number, reach: number, seed: number, weighted = false): CsrGraph {
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
  const data = Float64Array.from(indices, () => (weighted ? 0.1 + rand() : 1));
  return csrGraph(n, indptr, Int32Array.from(indices), data);
}

function labelsFor(n: number, seed: number): Int32Array {
  const rand = seededUniform(seed);
  return Int32Array.from({ length: n }, () => (rand() < 0.01 ? Math.floor(rand() * 3) : -1));
}

describe('renumberBreadthFirst', () => {
  it('numbers every row once, a component after another, neighbours before their neighbours', () => {
    // Prepare: two components {0, 2, 4} (0-4, 4-2) and {1, 3} (3-1), rows in scattered order
    const graph = csrGraph(
      5,
      Int32Array.from([0, 1, 2, 3, 4, 6]),
      Int32Array.from([4, 3, 4, 1, 0, 2]),
      Float64Array.from([1, 1, 1, 1, 1, 1]),
    );

    // Act
    const { order, graph: renumbered } = renumberBreadthFirst(graph);

    // Assess: rows 0, 4, 2, 1, 3 become 0..4; row 4 (now 1) keeps its entries' order: 0 then 2 (now 2)
    expect(Array.from(order)).toEqual([0, 4, 2, 1, 3]);
    expect(Array.from(renumbered.indptr)).toEqual([0, 1, 3, 4, 5, 6]);
    expect(Array.from(renumbered.indices)).toEqual([1, 0, 2, 1, 4, 3]);
  });

  it('gives neighbours nearby numbers', () => {
    // Prepare
    const graph = shuffledRing(4000, 3, 1);
    const { order } = renumberBreadthFirst(graph);
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

  it('gives every row the same product, bit for bit', () => {
    // Prepare
    const graph = shuffledRing(3000, 4, 2);
    const { order, graph: renumbered } = renumberBreadthFirst(graph);
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

    // Act
    const plain = renumberBreadthFirst(graph).graph;
    const shared = renumberBreadthFirst(graph, true).graph;

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

  for (const how of ['normalized-laplacian', 'row-normalize'] as const) {
    for (const weighted of [false, true]) {
      it(`transforms after renumbering to the same doubles as before it (${how}, ${weighted ? 'weighted' : 'unit weights'})`, () => {
        // Prepare: the affinity transformed first, then propagated without renumbering
        const affinity = () => ringAffinity(3000, 4, 8, weighted);
        const y = labelsFor(3000, 9);
        const alpha = how === 'normalized-laplacian' ? 0.2 : null;
        const transformed =
          how === 'normalized-laplacian' ? normalizedLaplacianAffinity(affinity()) : rowNormalize(affinity());
        const plain = propagateLabels(affinityOperator(transformed), y, 3, { ...options, alpha });

        // Act
        const renumbered = propagateRenumbered(affinity(), y, 3, { ...options, alpha }, { how });

        // Assess
        expect(renumbered.distributions).toEqual(plain.distributions);
        expect(renumbered.nIter).toBe(plain.nIter);
      });
    }
  }

  it('refuses to transform an affinity operator', () => {
    // Prepare
    const operator = affinityOperator(shuffledRing(100, 2, 10));
    // Act / Assess
    expect(() => propagateLabels(operator, labelsFor(100, 11), 3, options, 'row-normalize')).toThrow(/operator/);
  });
});
