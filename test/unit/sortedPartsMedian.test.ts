import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  medianOfSortedParts,
  SAMPLE_STEP,
  type SortedPart,
  sampleOf,
} from '../../lib/pipeline/propagation/sortedPartsMedian.ts';

function partOf(values: readonly number[], reads: number[]): SortedPart {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    sample: sampleOf(sorted),
    readSlice: async (from, to) => {
      reads.push(to - from);
      return sorted.slice(from, to);
    },
  };
}

/** The median as medianHeuristicGamma takes it: sort all, middle value or mean of the two middle values. */
function sortedMedian(values: number[]): number {
  const all = [...values].sort((a, b) => a - b);
  const middle = all.length >> 1;
  return all.length % 2 === 1 ? all[middle] : (all[middle - 1] + all[middle]) / 2;
}

describe('medianOfSortedParts', () => {
  it('equals the median of all values sorted together, for any split into parts (ties included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.array(
            fc.integer({ min: 0, max: 40 }).map((v) => v / 8),
            { maxLength: 3000 },
          ),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        async (split) => {
          // Prepare
          const reads: number[] = [];
          const parts = split.map((values) => partOf(values, reads));
          const all = split.flat();
          // Act
          const median = await medianOfSortedParts(parts);
          // Assess
          expect(median).toBe(all.length === 0 ? undefined : sortedMedian(all));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads about parts x SAMPLE_STEP values around the median, not all of them', async () => {
    // Prepare
    const reads: number[] = [];
    const parts = Array.from({ length: 4 }, (_, p) =>
      partOf(
        Array.from({ length: 50_000 }, (_, i) => Math.sin(i * 12.9898 + p * 78.233) * 1000),
        reads,
      ),
    );
    const all = parts.length * 50_000;
    // Act
    const median = await medianOfSortedParts(parts);
    // Assess
    const values = Array.from({ length: 4 }, (_, p) =>
      Array.from({ length: 50_000 }, (_, i) => Math.sin(i * 12.9898 + p * 78.233) * 1000),
    ).flat();
    expect(median).toBe(sortedMedian(values));
    const read = reads.reduce((sum, n) => sum + n, 0);
    expect(read).toBeLessThanOrEqual(4 * 3 * SAMPLE_STEP);
    expect(read).toBeLessThan(all / 10);
  });
});
