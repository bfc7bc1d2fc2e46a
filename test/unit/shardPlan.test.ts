import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultShardCount, shardsPerFile } from '../../lib/pipeline/shards/shardPlan.ts';
import { freshShardsOfFiles } from '../../lib/pipeline/stages/plan.ts';

const MiB = 2 ** 20;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('defaultShardCount', () => {
  it.each([
    // elastic fan-out (no worker count): 16 MiB per shard
    [0, undefined, 1],
    [1, undefined, 1],
    [16 * MiB, undefined, 1],
    [16 * MiB + 1, undefined, 2],
    [160 * MiB, undefined, 10],
    [1000 * 16 * MiB, undefined, 1000],
    [5000 * 16 * MiB, undefined, 1000],
    // a fixed pool of workers: 64 MiB per shard, a multiple of the worker count
    [0, 1, 1],
    [64 * MiB, 1, 1],
    [64 * MiB + 1, 1, 2],
    [160 * MiB, 12, 12],
    [10 * MiB, 4, 4],
    [48 * MiB, 2, 2],
    [490 * MiB, 2, 8],
    [5000 * 64 * MiB, 1, 1000],
  ])('splits %i bytes with %s workers into %i shards', (bytes, workers, expected) => {
    // Act
    const count = defaultShardCount(bytes, workers);

    // Assess
    expect(count).toBe(expected);
  });
});

describe('shardsPerFile', () => {
  it('splits in proportion to the file sizes', () => {
    // Act + Assess
    expect(shardsPerFile([300, 100], 4)).toEqual([3, 1]);
    expect(shardsPerFile([50, 30, 20], 10)).toEqual([5, 3, 2]);
  });

  it('gives the leftover shards to the largest remainders, the earlier file on a tie', () => {
    // Act + Assess
    expect(shardsPerFile([45, 35, 20], 4)).toEqual([2, 1, 1]);
    expect(shardsPerFile([1, 1], 3)).toEqual([2, 1]);
  });

  it('gives every file one shard when there are fewer shards than files', () => {
    // Act + Assess
    expect(shardsPerFile([10, 20, 30], 1)).toEqual([1, 1, 1]);
  });

  it('one file takes every shard', () => {
    // Act + Assess
    expect(shardsPerFile([123], 7)).toEqual([7]);
  });

  it('files that are all empty get one shard each', () => {
    // Act + Assess
    expect(shardsPerFile([0, 0], 4)).toEqual([1, 1]);
  });

  it('a tiny file beside a large one does not push the total above the shards asked for', () => {
    // Act
    const counts = shardsPerFile([100, 1, 1], 3);

    // Assess
    expect(counts).toEqual([1, 1, 1]);
  });

  it('sums to max(shards, files), at least one each (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10 ** 9 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 200 }),
        (sizes, shards) => {
          fc.pre(sum(sizes) > 0);
          // Act
          const counts = shardsPerFile(sizes, shards);

          // Assess
          expect(counts).toHaveLength(sizes.length);
          expect(counts.every((c) => Number.isInteger(c) && c >= 1)).toBe(true);
          expect(sum(counts)).toBe(Math.max(shards, sizes.length));
        },
      ),
    );
  });

  it('when every file deserves at least one shard, each gets the floor or ceiling of its share (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 50 }),
        (sizes, extra) => {
          // Prepare: enough shards that every exact share is >= 1
          const total = sum(sizes);
          const shards = Math.ceil(total / Math.min(...sizes)) + extra;

          // Act
          const counts = shardsPerFile(sizes, shards);

          // Assess
          expect(sum(counts)).toBe(shards);
          counts.forEach((c, i) => {
            const exact = (shards * sizes[i]) / total;
            expect(c).toBeGreaterThanOrEqual(Math.floor(exact));
            expect(c).toBeLessThanOrEqual(Math.ceil(exact));
          });
        },
      ),
    );
  });

  it('a larger file never gets fewer shards than a smaller one (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 ** 6 }), { minLength: 2, maxLength: 10 }),
        fc.integer({ min: 1, max: 100 }),
        (sizes, shards) => {
          // Act
          const counts = shardsPerFile(sizes, shards);

          // Assess
          for (let i = 0; i < sizes.length; i++) {
            for (let j = 0; j < sizes.length; j++) {
              if (sizes[i] > sizes[j]) expect(counts[i]).toBeGreaterThanOrEqual(counts[j]);
            }
          }
        },
      ),
    );
  });
});

describe('freshShardsOfFiles (an incremental run without --shards)', () => {
  const input = (key: string, size: number) => ({ key, size, etag: key });

  it.each([
    // 4 reused files of 122 MB and a 49 MB growth file, 2 workers: the growth file alone gets 2 shards
    [[122, 122, 122, 122, 49], [0, 1, 2, 3], 10, 2, [0, 0, 0, 0, 2]],
    // the same on Lambda (no worker count): one per 16 MiB of the new bytes
    [[122, 122, 122, 122, 49], [0, 1, 2, 3], 40, undefined, [0, 0, 0, 0, 4]],
    // a small added file (under 16 MiB) stays one shard, whatever the workers
    [[122, 122, 3], [0, 1], 4, 2, [0, 0, 1]],
    // two changed files share the new shards by size; the run's own bound (wanted) still caps them
    [[200, 100, 300], [1], 4, 2, [2, 0, 2]],
    [[200, 100, 300], [1], 2, 2, [1, 0, 1]],
  ])('sizes %j MiB, reused %j, wanted %i, workers %s: %j', (sizes, reused, wanted, workers, expected) => {
    // Act
    const counts = freshShardsOfFiles(
      sizes.map((size, f) => input(`part-${f}.csv`, size * MiB)),
      new Set(reused),
      wanted,
      workers,
    );

    // Assess
    expect(counts).toEqual(expected);
  });
});
