import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashId, IdHashes, idHashesBytes } from '../../lib/data/idHashes.ts';

/** All ids in one UTF-8 blob with their offsets, as a shard holds them. */
function blobOf(ids: readonly string[]): { bytes: Buffer; offsets: Uint32Array } {
  const bytes = Buffer.concat(ids.map((id) => Buffer.from(id, 'utf8')));
  const offsets = new Uint32Array(ids.length + 1);
  ids.forEach((id, i) => {
    offsets[i + 1] = offsets[i] + Buffer.byteLength(id, 'utf8');
  });
  return { bytes, offsets };
}

describe('IdHashes', () => {
  it('says an id was seen exactly when a Set of the strings has it (property, no collision among them)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 4 }), { maxLength: 300 }), (ids) => {
        // Prepare
        const { bytes, offsets } = blobOf(ids);
        const table = new IdHashes();
        const reference = new Set<string>();

        // Act / Assess
        ids.forEach((id, i) => {
          expect(table.seenOrAdd(bytes, offsets[i], offsets[i + 1])).toBe(reference.has(id));
          reference.add(id);
        });
        expect(table.size).toBe(reference.size);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps 300,000 ids apart past many growths of a table that was not presized', () => {
    // Prepare: 300k distinct ids, then each again
    const ids = Array.from({ length: 300_000 }, (_, i) => `row-${i}`);
    const { bytes, offsets } = blobOf(ids);
    const table = new IdHashes();

    // Act
    const seen = [0, 1].map(() => ids.map((_, i) => table.seenOrAdd(bytes, offsets[i], offsets[i + 1])));

    // Assess
    expect(table.size).toBe(300_000);
    expect(seen[0].some(Boolean)).toBe(false);
    expect(seen[1].every(Boolean)).toBe(true);
  });

  it('takes at most 12 bytes a row when presized, and does not grow', () => {
    // Prepare
    const ids = Array.from({ length: 200_000 }, (_, i) => `id${i}`);
    const { bytes, offsets } = blobOf(ids);
    const table = new IdHashes(ids.length);
    const before = table.bytes;

    // Act
    for (let i = 0; i < ids.length; i++) table.seenOrAdd(bytes, offsets[i], offsets[i + 1]);

    // Assess
    expect(table.bytes).toBe(before);
    expect(table.bytes).toBe(idHashesBytes(ids.length));
    expect(table.bytes / ids.length).toBeLessThanOrEqual(12);
  });

  it('gives the hash of the id last added, as hashId computes it, never 0, 0', () => {
    // Prepare
    const { bytes, offsets } = blobOf(['a', '', 'é']);
    const table = new IdHashes();
    const hash = new Uint32Array(2);

    for (let i = 0; i < 3; i++) {
      // Act
      table.seenOrAdd(bytes, offsets[i], offsets[i + 1]);
      hashId(bytes, offsets[i], offsets[i + 1], hash);

      // Assess
      expect([...table.lastHash]).toEqual([...hash]);
      expect(hash[0] !== 0 || hash[1] !== 0).toBe(true);
    }
  });
});
