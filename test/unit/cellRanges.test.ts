import { describe, expect, it } from 'vitest';
import { cellRanges, localityOrder, rangeCells, rangesOfCells } from '../../lib/graph/ivf/cellRanges.ts';
import type { IvfModel } from '../../lib/graph/ivf/ivfModel.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';

/** nlist centroids in `groups` tight groups far apart (d features), groups interleaved in cell order. */
function groupedModel(nlist: number, groups: number, d: number, seed: number): IvfModel {
  const random = seededUniform(seed);
  const centres = Array.from({ length: groups }, () => Array.from({ length: d }, () => 100 * random()));
  const centroids = new Float32Array(nlist * d);
  for (let c = 0; c < nlist; c++) {
    for (let t = 0; t < d; t++) centroids[c * d + t] = centres[c % groups][t] + random();
  }
  return { d, nlist, centroids, nprobe: 1 };
}

describe('cell ranges', () => {
  it('orders the cells as a permutation that keeps each group of nearby centroids together', () => {
    // Prepare
    const model = groupedModel(60, 4, 16, 3);
    // Act
    const order = localityOrder(model);
    // Assess: a permutation, and each group's cells form one run of the order.
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, c) => c));
    const groupChanges = [...order].filter((cell, o) => o > 0 && cell % 4 !== order[o - 1] % 4).length;
    expect(groupChanges).toBe(3);
  });

  it.each([1, 3, 4, 8])('splits the cells into %i ranges of about equal rows, nearby cells together', (count) => {
    // Prepare
    const model = groupedModel(64, 4, 8, 5);
    const sizes = Int32Array.from({ length: 64 }, (_, c) => 10 + (c % 7));
    // Act
    const ranges = cellRanges(model, sizes, count);
    const { starts, cells } = rangeCells(ranges);
    // Assess
    expect(ranges.count).toBe(count);
    const total = sizes.reduce((a, b) => a + b, 0);
    for (let r = 0; r < count; r++) {
      const own = cells.subarray(starts[r], starts[r + 1]);
      expect(own.length).toBeGreaterThan(0);
      const rows = [...own].reduce((sum, c) => sum + sizes[c], 0);
      expect(Math.abs(rows - total / count)).toBeLessThanOrEqual(16);
      // With as many ranges as groups or fewer, a range holds whole groups (count 3: one group is cut).
      if (count === 4 || count === 1) expect(new Set([...own].map((c) => c % 4)).size).toBe(4 / count);
    }
  });

  it('lists the ranges of probed cells once each, ascending, ignoring -1', () => {
    // Prepare
    const ranges = { count: 3, rangeOf: Int32Array.of(2, 0, 1, 2, 0) };
    // Act
    const probed = rangesOfCells(Int32Array.of(3, -1, 4, 0, 3), ranges);
    // Assess
    expect([...probed]).toEqual([0, 2]);
  });

  it('refuses sizes that do not match the cells', () => {
    // Prepare
    const model = groupedModel(10, 2, 4, 1);
    // Act
    const wrong = () => cellRanges(model, new Int32Array(9), 2);
    // Assess
    expect(wrong).toThrow(/9 cell sizes for 10 cells/);
  });
});
