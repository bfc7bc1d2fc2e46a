import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  choosePartitions,
  forEachInFlight,
  gatherRows,
  partitionEdges,
  shardLocator,
} from '../../lib/pipeline/propagation/partitionGraph.ts';
import type { RunRecord } from '../../lib/pipeline/run/runRecord.ts';
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

describe('partitionEdges', () => {
  it("finds every edge's end among the partition's own rows or its boundary rows", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 60 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat({ max: 60 }), { minLength: 80, maxLength: 80 }),
        (rows, k, ends) => {
          // Prepare
          const members = Int32Array.from(rows).sort();
          const indices = Int32Array.from({ length: members.length * k }, (_, p) => ends[p % ends.length]);
          const distances = Float64Array.from(indices, (_, p) => p / 2);
          // Act
          const edges = partitionEdges({ members, k, indices, distances }, true);
          // Assess
          const own = new Set(members);
          const reached = Array.from(edges.positions, (position) =>
            position < members.length ? members[position] : edges.boundary[position - members.length],
          );
          expect(reached).toEqual([...indices]);
          expect([...edges.boundary]).toEqual(
            [...new Set([...indices].filter((row) => !own.has(row)))].sort((a, b) => a - b),
          );
          expect(edges.distances).toBe(distances);
        },
      ),
    );
  });
});

describe('choosePartitions', () => {
  it('cell ranges where neighbours were searched by range, shards otherwise and for incremental runs', () => {
    // Prepare
    const approx = { mode: 'approx', kernel: 'wasm', reason: 'r', ranges: 5 } as const;
    const exact = { mode: 'exact', kernel: 'direct', reason: 'r' } as const;
    const incremental = { baseVersion: 1, reused: [] } as unknown as RunRecord['incremental'];
    // Act
    const chosen = [
      choosePartitions({ neighbors: approx }, 3),
      choosePartitions({ neighbors: exact }, 3),
      choosePartitions({ neighbors: approx, incremental }, 3),
    ];
    // Assess
    expect(chosen).toEqual([
      { by: 'cell ranges', count: 5 },
      { by: 'shards', count: 3 },
      { by: 'shards', count: 3 },
    ]);
  });
});
