import { describe, expect, it } from 'vitest';
import { hashId, idHasher, WEAK_ID_HASH_ENV } from '../../lib/data/idHashes.ts';
import {
  checkRepeats,
  type HashRepeat,
  hashKey,
  LINE_SPAN,
  type ShardIds,
} from '../../lib/pipeline/shards/duplicateIds.ts';

/** Shards of ids (input 0, row i of shard s on line 100 s + i) as checkRepeats reads them, counting the reads. */
function shardsOf(shards: readonly string[][]) {
  const reads: number[] = [];
  const read = async (s: number): Promise<ShardIds> => {
    reads.push(s);
    const ids = shards[s];
    const idBytes = Buffer.from(ids.join(''), 'utf8');
    const idOffsets = new Uint32Array(ids.length + 1);
    ids.forEach((id, i) => {
      idOffsets[i + 1] = idOffsets[i] + Buffer.byteLength(id, 'utf8');
    });
    return { n: ids.length, idBytes, idOffsets, idOf: (i) => ids[i], placeOf: (i) => 100 * s + i };
  };
  return { read, reads };
}

function keyOf(id: string): string {
  const hash = new Uint32Array(2);
  const bytes = Buffer.from(id, 'utf8');
  hashId(bytes, 0, bytes.length, hash);
  return hashKey(hash);
}

describe('checkRepeats', () => {
  it('names the first row of each repeated id, reading only the shards up to the last repeat', async () => {
    // Prepare: "b" repeats in shard 1, "a" twice in shard 2; shard 3 has no repeat
    const { read, reads } = shardsOf([['a', 'b'], ['c', 'b'], ['a', 'd', 'a'], ['e']]);
    const repeats: HashRepeat[] = [
      { ingested: 3, shard: 1, hash: keyOf('b') },
      { ingested: 4, shard: 2, hash: keyOf('a') },
      { ingested: 6, shard: 2, hash: keyOf('a') },
    ];

    // Act
    const checks = await checkRepeats(repeats, read);

    // Assess
    expect(Object.fromEntries(checks)).toEqual({
      3: { id: 'b', first: 1 },
      4: { id: 'a', first: 0 },
      6: { id: 'a', first: 0 },
    });
    expect(reads).toEqual([0, 1, 2]);
  });

  it('tells a collision (same hash, other bytes) from a duplicate, and a repeat of the colliding id', async () => {
    // Prepare: ids hashed by their length alone (WEAK_ID_HASH_ENV), so "x", "y", "z" collide; the hash pass
    // dropped every row after the first
    const { read } = shardsOf([
      ['x', 'y'],
      ['z', 'y', 'x'],
    ]);
    const weak = idHasher({ [WEAK_ID_HASH_ENV]: '1' });
    const key = '1.1';
    const repeats = [1, 2, 3, 4].map((ingested) => ({ ingested, shard: ingested < 2 ? 0 : 1, hash: key }));

    // Act
    const checks = await checkRepeats(repeats, read, weak);

    // Assess: "y" and "z" are ids of their own (collisions), the second "y" and "x" repeat their first rows
    expect(Object.fromEntries(checks)).toEqual({
      1: { id: 'y' },
      2: { id: 'z' },
      3: { id: 'y', first: 1 },
      4: { id: 'x', first: 0 },
    });
  });

  it('reads nothing when no hash repeated', async () => {
    // Prepare
    const { read, reads } = shardsOf([['a']]);

    // Act
    const checks = await checkRepeats([], read);

    // Assess
    expect(checks.size).toBe(0);
    expect(reads).toEqual([]);
    expect(LINE_SPAN).toBe(2 ** 31);
  });
});
