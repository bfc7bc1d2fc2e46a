import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdTable } from '../../lib/data/idTable.ts';

describe('IdTable', () => {
  it('returns the first value stored with the same bytes, as a Map of strings does (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 4 }), { maxLength: 300 }), (ids) => {
        // Prepare: all ids in one UTF-8 blob
        const blob = Buffer.concat(ids.map((id) => Buffer.from(id, 'utf8')));
        const table = new IdTable();
        const reference = new Map<string, number>();

        // Act / Assess
        let at = 0;
        ids.forEach((id, i) => {
          const end = at + Buffer.byteLength(id, 'utf8');
          const first = table.firstOrAdd(blob, at, end, 10 * i);
          expect(first).toBe(reference.get(id));
          if (!reference.has(id)) reference.set(id, 10 * i);
          at = end;
        });
        expect(table.size).toBe(reference.size);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps every id apart past many growths of its table', () => {
    // Prepare: 100k distinct ids, then each again
    const ids = Array.from({ length: 100_000 }, (_, i) => `row-${i}`);
    const blob = Buffer.from(ids.join(''), 'utf8');
    const table = new IdTable();

    // Act
    let at = 0;
    const firsts: (number | undefined)[] = [];
    for (let round = 0; round < 2; round++) {
      at = 0;
      ids.forEach((id, i) => {
        firsts.push(table.firstOrAdd(blob, at, at + id.length, round * 1e6 + i));
        at += id.length;
      });
    }

    // Assess: new the first time, the first round's value the second
    expect(table.size).toBe(100_000);
    expect(firsts.slice(0, 100_000).every((v) => v === undefined)).toBe(true);
    expect(firsts.slice(100_000)).toEqual(ids.map((_, i) => i));
  });
});
