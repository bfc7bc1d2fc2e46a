import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bufferRangeSource,
  headCachedSource,
  headerEnd,
  LineCounter,
  openFileRangeSource,
  planByteRanges,
  planLineRanges,
  type RangeSource,
  readLineRange,
} from '../../lib/data/byteRanges.ts';
import { openCsvRows, parseCsvHeader } from '../../lib/data/csvRows.ts';
import { inferJsonlSchema, openJsonlRows } from '../../lib/data/jsonlRows.ts';
import { chunksOf, drain, plain } from '../support/byteStreams.ts';

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString('utf8');

describe('planByteRanges', () => {
  it('splits [dataStart, size) into contiguous near-equal ranges', () => {
    expect(planByteRanges(10, 3)).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 7 },
      { start: 7, end: 10 },
    ]);
    expect(planByteRanges(10, 2, 4)).toEqual([
      { start: 4, end: 7 },
      { start: 7, end: 10 },
    ]);
    expect(planByteRanges(1, 3)).toEqual([
      { start: 0, end: 1 },
      { start: 1, end: 1 },
      { start: 1, end: 1 },
    ]);
  });

  it('refuses a shard count below 1 and a data start past the end', () => {
    expect(() => planByteRanges(10, 0)).toThrow(RangeError);
    expect(() => planByteRanges(10, 1, 11)).toThrow(RangeError);
  });
});

describe('line ranges', () => {
  const text = 'h1,h2\nab,1\ncd,2\r\nef,3';
  const source = bufferRangeSource(encode(text));

  it('finds the end of the header', async () => {
    expect(await headerEnd(source)).toBe(6);
  });

  it('counts the lines a stream spans, a last line without a line end too', async () => {
    // Prepare
    const counted = async (...chunks: string[]) => {
      const counter = new LineCounter();
      await drain(counter.count(chunksOf(encode(chunks.join('')), [1, 3])));
      return counter.lines;
    };
    // Act, Assess
    expect(await counted('')).toBe(0);
    expect(await counted('a\n\nb')).toBe(3);
    expect(await counted('a\r\n', '\n')).toBe(2);
  });

  it('gives a range the lines starting inside it, finishing its last line past the end', async () => {
    // Act
    const first = decode(await drain(readLineRange(source, { start: 6, end: 12 })));
    const middle = decode(await drain(readLineRange(source, { start: 12, end: 17 })));
    const last = decode(await drain(readLineRange(source, { start: 17, end: 22 })));
    const none = decode(await drain(readLineRange(source, { start: 12, end: 13 })));
    // Assess
    expect(first).toBe('ab,1\ncd,2\r\n');
    expect(middle).toBe('');
    expect(last).toBe('ef,3');
    expect(none).toBe('');
  });

  it('plans ranges after the header, reading only the first line', async () => {
    // Prepare
    let read = 0;
    const counting: RangeSource = {
      size: source.size,
      read: async (start, end) => {
        const bytes = await source.read(start, end);
        read += bytes.length;
        return bytes;
      },
    };
    // Act
    const ranges = await planLineRanges(counting, 3, { header: true });
    // Assess
    expect(ranges).toEqual([
      { start: 6, end: 11 },
      { start: 11, end: 16 },
      { start: 16, end: 21 },
    ]);
    expect(read).toBeLessThanOrEqual(source.size); // one probe from 0 for the header's end
  });

  it('serves reads of the head from one read', async () => {
    // Prepare
    const reads: [number, number][] = [];
    const read = (start: number, end: number) => {
      reads.push([start, end]);
      return source.read(start, end);
    };
    const cached = headCachedSource({ size: source.size, read }, 8);
    // Act
    const parts = [
      await cached.read(0, 4),
      await cached.read(2, 8),
      await cached.read(6, 12),
      await cached.read(12, 14),
    ];
    // Assess
    expect(parts.map((p) => Buffer.from(p).toString())).toEqual(['h1,h', ',h2\nab', 'ab,1\nc', 'd,']);
    expect(reads).toEqual([
      [0, 8],
      [8, 12],
      [12, 14],
    ]);
  });
});

/** Random CSV text: quoted fields (no line breaks inside), bad rows, blank lines, CRLF, BOM, any ending. */
const csvText = fc
  .record({
    bom: fc.boolean(),
    eol: fc.constantFrom('\n', '\r\n'),
    finalNewline: fc.boolean(),
    rows: fc.array(
      fc.oneof(
        {
          weight: 6,
          arbitrary: fc.tuple(
            fc.string({ unit: 'grapheme', maxLength: 6 }),
            fc.constantFrom('', '-1', 'a', 'b', 'x,y', 'é'),
            fc.double({ min: -1e3, max: 1e3, noNaN: true }),
            fc.constantFrom('1', '2.5', '-3e2', 'abc', '', 'NaN', '0.000001'),
          ),
        },
        { weight: 1, arbitrary: fc.constantFrom('', '   ', 'only,three,fields', '"unterminated,1,2,3', 'x"y,a,1,2') },
      ),
      { maxLength: 25 },
    ),
  })
  .map(({ bom, eol, finalNewline, rows }) => {
    const quote = (s: string) => (/[",\r\n]/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s);
    const lines = rows.map((row) =>
      typeof row === 'string' ? row : [quote(row[0]), quote(row[1]), String(row[2]), row[3]].join(','),
    );
    return `${bom ? '\ufeff' : ''}id,label,f1,f2${eol}${lines.join(eol)}${finalNewline ? eol : ''}`;
  });

async function csvWhole(bytes: Uint8Array) {
  const reader = await openCsvRows(chunksOf(bytes), { file: 'f.csv' });
  return plain(await drain(reader.rows));
}

/**
 * Reads a file's ranges in order as the pipeline does: each numbered from its first line, which is where the
 * ranges before it end (the lines they span, counted as they are read: shardPlace.ts).
 */
async function csvSharded(source: RangeSource, shards: number, blockBytes: number) {
  const plan = await planLineRanges(source, shards, { header: true });
  const header = parseCsvHeader(
    Buffer.from(await source.read(0, await headerEnd(source)))
      .toString('utf8')
      .replace(/\r?\n$/, ''),
  );
  const rows: unknown[] = [];
  let firstLine = 2;
  for (const shard of plan) {
    const counter = new LineCounter();
    const reader = await openCsvRows(counter.count(readLineRange(source, shard, blockBytes)), {
      header,
      firstLine,
      file: 'f.csv',
    });
    rows.push(...plain(await drain(reader.rows)));
    firstLine += counter.lines;
  }
  return rows;
}

describe('sharded reading equals whole-file reading', () => {
  it('for random CSV files split into 1..8 ranges (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvText,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 16 }),
        async (text, shards, blockBytes) => {
          // Prepare
          const bytes = encode(text);
          // Act
          const whole = await csvWhole(bytes);
          const sharded = await csvSharded(bufferRangeSource(bytes), shards, blockBytes);
          // Assess
          expect(sharded).toEqual(whole);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('for random JSONL files split into 1..8 ranges (property)', async () => {
    const jsonlText = fc
      .tuple(
        fc.array(
          fc.oneof(
            fc
              .record({
                id: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 5 }),
                label: fc.constantFrom(null, -1, 'a', 2),
                v: fc.integer(),
                w: fc.double({ noNaN: true, noDefaultInfinity: true }),
              })
              .map((o) => JSON.stringify(o)),
            fc.constantFrom('', '{"v":1}', 'not json', '{"id":"z","v":"x","w":2}', '[1]'),
          ),
          { minLength: 1, maxLength: 25 },
        ),
        fc.constantFrom('\n', '\r\n'),
      )
      .map(([lines, eol]) => `{"id":"first","v":1,"w":2}${eol}${lines.join(eol)}`);
    await fc.assert(
      fc.asyncProperty(
        jsonlText,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 16 }),
        async (text, shards, blockBytes) => {
          // Prepare
          const bytes = encode(text);
          const source = bufferRangeSource(bytes);
          // Act
          const whole = plain(await drain((await openJsonlRows(chunksOf(bytes))).rows));
          const schema = await inferJsonlSchema(chunksOf(bytes));
          const sharded: unknown[] = [];
          let firstLine = 1;
          for (const shard of await planLineRanges(source, shards, { header: false })) {
            const counter = new LineCounter();
            const reader = await openJsonlRows(counter.count(readLineRange(source, shard, blockBytes)), {
              schema,
              firstLine,
              startsFile: shard.start === 0,
            });
            sharded.push(...plain(await drain(reader.rows)));
            firstLine += counter.lines;
          }
          // Assess
          expect(sharded).toEqual(whole);
        },
      ),
      { numRuns: 100 },
    );
  });

  describe('from a file on disk', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'byteRanges-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads the same rows through openFileRangeSource', async () => {
      // Prepare
      const lines = Array.from(
        { length: 500 },
        (_, i) => `r${i},${i % 3 === 0 ? '' : i % 2},${i / 7},${i % 11 === 0 ? 'bad' : i}`,
      );
      const bytes = encode(`id,label,a,b\n${lines.join('\n')}\n`);
      const path = join(dir, 'data.csv');
      await writeFile(path, bytes);
      const source = await openFileRangeSource(path);
      // Act
      const sharded = await csvSharded(source, 7, 1000);
      await source.close();
      // Assess
      expect(sharded).toEqual(await csvWhole(bytes));
      expect(sharded).toHaveLength(500);
    });

    it('throws InputFileError for a missing file or a directory', async () => {
      await expect(openFileRangeSource(join(dir, 'nope.csv'))).rejects.toMatchObject({
        name: 'InputFileError',
        reason: 'no such file or directory',
      });
      await expect(openFileRangeSource(dir)).rejects.toMatchObject({
        name: 'InputFileError',
        reason: 'is a directory, expected a file',
      });
    });
  });
});
