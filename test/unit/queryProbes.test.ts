import { describe, expect, it } from 'vitest';
import { probesInRange } from '../../lib/pipeline/neighbors/queryProbes.ts';

/** probesInRange: a query's probe list as a range's neighbors task searches it (the range's cells only). */
describe('probesInRange', () => {
  // 6 cells in 3 ranges: cells 0, 3 -> range 0; 1, 4 -> range 1; 2, 5 -> range 2.
  const ranges = { count: 3, rangeOf: Int32Array.from([0, 1, 2, 0, 1, 2]) };
  // 3 rows of width 3 (-1 = none): [4, 0, 1], [2, 5, -1], [3, 4, 0]
  const probes = Int32Array.from([4, 0, 1, 2, 5, -1, 3, 4, 0]);

  it('keeps the cells of the range in their order, packed left, -1 after, as wide as the most any row keeps', () => {
    // Act
    const kept = probesInRange(probes, 3, [0, 2], 1, ranges);

    // Assess
    expect(kept.width).toBe(2);
    expect(Array.from(kept.probes)).toEqual([4, 1, 4, -1]);
  });

  it('gives width 1 and -1 to a row that probes none of the range', () => {
    // Act
    const kept = probesInRange(probes, 3, [1], 0, ranges);

    // Assess
    expect(kept.width).toBe(1);
    expect(Array.from(kept.probes)).toEqual([-1]);
  });
});
