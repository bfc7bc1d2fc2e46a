import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forEachInFlight, gatherRows, shardLocator } from '../../lib/pipeline/propagation/partitionGraph.ts';
import type { Collected } from '../../lib/pipeline/shards/collected.ts';

function collectedOf(rows: readonly number[]): Collected {
  let offset = 0;
  const shards = rows.map((count) => {
    const shard = { rows: count, offset, dropped: [], place: { firstLine: 1, rowZeroLine: 2 } };
    offset += count;
    return shard;
  });
  return { n: offset, d: 1, classes: ['a', 'b'], featureNames: ['f'], given: 0, shards, duplicates: [] };
}

describe('shardLocator', () => {
  it('finds the shard holding each row, empty shards included', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 12 }), (rows) => {
        // Prepare
        const collected = collectedOf(rows);
        const expected: number[] = [];
        rows.forEach((count, shard) => {
          for (let r = 0; r < count; r++) expected.push(shard);
        });
        // Act
        const locate = shardLocator(collected);
        const found = expected.map((_, row) => locate(row));
        // Assess
        expect(found).toEqual(expected);
      }),
    );
  });
});

describe('gatherRows', () => {
  it('copies the listed rows of a row-major block, in the order listed', () => {
    // Prepare
    const block = Float64Array.from([0, 1, 10, 11, 20, 21]);
    // Act
    const gathered = gatherRows(block, 2, Int32Array.from([2, 0]));
    // Assess
    expect(Array.from(gathered)).toEqual([20, 21, 0, 1]);
  });
});

describe('forEachInFlight', () => {
  it('runs every item once, never more than `limit` at a time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 5 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        async (delays, limit) => {
          // Prepare
          const done: number[] = [];
          let running = 0;
          let most = 0;
          // Act
          await forEachInFlight(Array.from(delays.keys()), limit, async (i) => {
            running++;
            most = Math.max(most, running);
            await new Promise((resolve) => setTimeout(resolve, delays[i]));
            running--;
            done.push(i);
          });
          // Assess
          expect([...done].sort((a, b) => a - b)).toEqual(Array.from(delays.keys()));
          expect(most).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 30 },
    );
  });
});
