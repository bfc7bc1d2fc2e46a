import { describe, expect, it } from 'vitest';
import { DefaultIdBytes, defaultId } from '../../lib/data/defaultId.ts';

/** DefaultIdBytes writes defaultId's UTF-8 bytes, row after row, into one buffer. */
describe('DefaultIdBytes', () => {
  const rows = [0, 7, 9, 10, 11, 99, 100, 12_345, 999_999, 1_000_000, 2 ** 31, 2 ** 53 - 1, 3, 0];

  it.each([
    ['no file', undefined],
    ['a file', '/data/part-1.csv'],
    ['a non-ASCII file name', '/données/naïve 日本.csv'],
  ])('writes the bytes of defaultId for every row, %s', (_, file) => {
    // Prepare
    const id = new DefaultIdBytes(file);

    // Act
    const written = rows.map((row) => Buffer.from(id.bytes.subarray(0, id.write(row))).toString('utf8'));

    // Assess
    expect(written).toEqual(rows.map((row) => defaultId(row, file)));
  });

  it('refuses a row number that is not a non-negative safe integer', () => {
    const id = new DefaultIdBytes('a.csv');
    expect(() => id.write(-1)).toThrow(/-1/);
    expect(() => id.write(1.5)).toThrow(/1.5/);
  });
});
