import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShardFormatError } from '../../lib/data/errors.ts';
import { decodeShard, encodeShard, ShardBuilder, type ShardRow } from '../../lib/data/shardFormat.ts';

const shardRows = fc.integer({ min: 0, max: 6 }).chain((d) =>
  fc
    .array(
      fc.record({
        line: fc.integer({ min: 0, max: 0x7fffffff }),
        id: fc.string({ unit: 'grapheme' }),
        label: fc.option(fc.constantFrom('a', 'b', '', 'é', 'ü,x')),
        features: fc.array(fc.float({ noNaN: true }), { minLength: d, maxLength: d }),
      }),
      { maxLength: 30 },
    )
    .map((rows) => ({ d, rows })),
);

describe('shardFormat', () => {
  it('round-trips rows: ids, raw labels, Float32 features and lines (property)', () => {
    fc.assert(
      fc.property(shardRows, fc.integer({ min: 0, max: 3 }), ({ d, rows }, misalign) => {
        // Prepare
        const encoded = encodeShard(rows, d);
        const shifted = new Uint8Array(encoded.length + misalign);
        shifted.set(encoded, misalign);
        // Act
        const decoded = decodeShard(shifted.subarray(misalign));
        // Assess
        expect(decoded.n).toBe(rows.length);
        expect(decoded.d).toBe(d);
        expect(decoded.ids).toEqual(rows.map((r) => r.id));
        expect(decoded.labels).toEqual(rows.map((r) => r.label));
        expect(Array.from(decoded.lines)).toEqual(rows.map((r) => r.line));
        expect(decoded.features).toEqual(Float32Array.from(rows.flatMap((r) => r.features)));
      }),
    );
  });

  it('builds a shard row by row past its first capacity, as encodeShard of the same rows', () => {
    // Prepare: more rows than the builder's first 1024, so its storage grows twice
    const rows = Array.from(
      { length: 2500 },
      (_, i): ShardRow => ({
        line: i + 2,
        id: `r${i}`,
        label: i % 7 === 0 ? null : `c${i % 3}`,
        features: [i, -i, 0.5 * i],
      }),
    );
    const builder = new ShardBuilder(3);

    // Act
    for (const row of rows) builder.add(row);
    const decoded = decodeShard(builder.encode());

    // Assess
    expect(builder.n).toBe(2500);
    expect(decoded.features).toEqual(Float32Array.from(rows.flatMap((r) => Array.from(r.features))));
    expect(Array.from(decoded.lines)).toEqual(rows.map((r) => r.line));
    expect(decoded.labels).toEqual(rows.map((r) => r.label));
    expect(decoded.ids).toEqual(rows.map((r) => r.id));
  });

  it('stores each distinct label once', () => {
    // Prepare
    const many = Array.from(
      { length: 100 },
      (_, i): ShardRow => ({ line: i, id: '', label: 'a long label text', features: [] }),
    );
    // Act
    const size = encodeShard(many, 0).length;
    // Assess
    expect(size).toBe(32 + 4 * (100 + 100 + 101 + 2) + 17);
  });

  it.each([
    ['too short', (b: Uint8Array) => b.subarray(0, 10), /^invalid shard: truncated/],
    [
      'wrong magic',
      (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === 0 ? 0 : x)),
      'invalid shard: wrong magic number: not a pseudolabel shard',
    ],
    [
      'another version',
      (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === 4 ? 9 : x)),
      'invalid shard: unsupported version 9 (this reader knows 2)',
    ],
    [
      'cut short',
      (b: Uint8Array) => b.subarray(0, b.length - 1),
      /^invalid shard: \d+ bytes, the header announces \d+$/,
    ],
    [
      'a label code out of range',
      (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === 32 + 8 ? 7 : x)),
      /label code 7 of row 0/,
    ],
    [
      'id offsets past the id bytes',
      (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === 32 + 16 + 4 ? 5 : x)),
      'invalid shard: corrupt id offsets',
    ],
    [
      'label offsets past the label bytes',
      (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === 32 + 16 + 8 + 4 ? 5 : x)),
      'invalid shard: corrupt label offsets',
    ],
  ])('throws ShardFormatError for bytes %s', (_, damage, message) => {
    // Prepare
    const bytes = encodeShard([{ line: 2, id: 'x', label: 'a', features: [1, 2] }], 2);
    // Act
    const decode = () => decodeShard(damage(bytes));
    // Assess
    expect(decode).toThrow(ShardFormatError);
    expect(decode).toThrow(message);
  });

  it('refuses rows of the wrong width', () => {
    expect(() => encodeShard([{ line: 1, id: 'x', label: null, features: [1] }], 2)).toThrow(RangeError);
  });
});
