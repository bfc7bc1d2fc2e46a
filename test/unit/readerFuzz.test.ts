import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bufferRangeSource, LineCounter, planLineRanges, readLineRange } from '../../lib/data/byteRanges.ts';
import { openCsvRows } from '../../lib/data/csvRows.ts';
import { InputFileError } from '../../lib/data/errors.ts';
import { openJsonlRows } from '../../lib/data/jsonlRows.ts';
import type { RowResult } from '../../lib/data/rowSource.ts';
import { chunksOf, drain } from '../support/byteStreams.ts';

/**
 * Fuzzing the CSV and JSONL readers (DESIGN.md section 8: property tests for readers) over random bytes, long
 * lines and odd encodings: a BOM, CRLF, Latin-1, NUL, encoded surrogates, truncated UTF-8, quotes, deep JSON.
 * Whatever the bytes: no crash (a file may only be refused as a whole with an InputFileError), every non-blank
 * data line gives exactly one result, accepted or rejected with a reason, in line order, so accepted + rejected =
 * data lines; and the same results for any chunking and any byte-range sharding.
 */

const bytes = (...parts: (string | number[] | Uint8Array)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

/** Pieces of a line: plain CSV/JSON tokens, odd encodings and raw bytes (never a `\n`). */
const piece = fc.oneof(
  fc.constantFrom('1', '-1', '2.5', '1e3', '-0', 'nan', 'inf', '1e999', '', ' ', '\t', 'a', 'caf\u00e9', '\u{1F600}'),
  fc.constantFrom(',', ',', ',', '"', '""', '"a,b"', '\r', '{', '}', '[', ']', ':', '"label"', '"x"', 'null'),
  fc.constantFrom<number[]>(
    [0xef, 0xbb, 0xbf], // BOM
    [0xe9], // Latin-1 e acute
    [0x00], // NUL
    [0xed, 0xa0, 0x80], // an encoded lone surrogate (CESU-8)
    [0xe2, 0x82], // a truncated sequence
    [0xc0, 0xaf], // an overlong '/'
    [0xff, 0xfe], // UTF-16 BOM
    [0xef, 0xbf, 0xbd], // a valid U+FFFD
  ),
  fc.uint8Array({ maxLength: 6 }).map((b) => b.map((x) => (x === 10 ? 32 : x))),
);

/** A line: a few pieces, or now and then a long run of one. */
const line = fc.oneof(
  { weight: 9, arbitrary: fc.array(piece, { maxLength: 8 }) },
  { weight: 1, arbitrary: fc.tuple(piece, fc.integer({ min: 1000, max: 20_000 })).map(([p, n]) => Array(n).fill(p)) },
);

/** A text field: pieces without commas or quotes (so the line keeps its shape), odd bytes included. */
const textField = fc
  .array(piece, { maxLength: 4 })
  .map((pieces) => bytes(...pieces).filter((x) => x !== 44 && x !== 34 && x !== 10 && x !== 13));
const numberField = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => Buffer.from(String(v))),
  fc.integer().map((v) => Buffer.from(String(v))),
  textField,
);

/** A line of the header's shape (id,label,a,b) with odd bytes in its text fields: most are accepted or not by them. */
const csvRowBytes = fc
  .tuple(textField, textField, numberField, numberField)
  .map((fields) => Buffer.concat(fields.flatMap((f, i) => (i === 0 ? [f] : [Buffer.from(','), f]))));

const lineBytes = fc.oneof(
  line.map((pieces) => bytes(...pieces)),
  csvRowBytes,
);

/** Lines joined with LF or CRLF, with or without a final line end. */
const body = fc
  .tuple(fc.array(lineBytes, { maxLength: 12 }), fc.boolean(), fc.boolean())
  .map(([lines, crlf, final]) => ({ lines, data: joinLines(lines, crlf ? '\r\n' : '\n', final) }));

function joinLines(lines: readonly Buffer[], end: string, final: boolean): Buffer {
  const parts: Buffer[] = [];
  lines.forEach((l, i) => {
    parts.push(l);
    if (final || i < lines.length - 1) parts.push(Buffer.from(end));
  });
  return Buffer.concat(parts);
}

/** The 1-based numbers of the lines that carry a row: not blank (only spaces and tabs) after a trailing `\r`. */
function dataLines(data: Buffer, firstLine: number): number[] {
  const numbers: number[] = [];
  let start = 0;
  for (let n = 1; start <= data.length; n++) {
    let end = data.indexOf(10, start);
    if (end === -1) end = data.length;
    if (start === data.length && end === start) break; // nothing after the final line end
    let content = end;
    if (content > start && data[content - 1] === 13) content--;
    let blank = true;
    for (let k = start; k < content; k++) if (data[k] !== 32 && data[k] !== 9) blank = false;
    if (!blank) numbers.push(firstLine + n - 1);
    start = end + 1;
  }
  return numbers;
}

/** Each line's bytes by its 1-based number in the file. */
function linesByNumber(file: Buffer): Map<number, Buffer> {
  const lines = new Map<number, Buffer>();
  let start = 0;
  for (let n = 1; start <= file.length; n++) {
    let end = file.indexOf(10, start);
    if (end === -1) end = file.length;
    lines.set(n, file.subarray(start, end));
    start = end + 1;
  }
  return lines;
}

/** Checks the results of one file against its data lines: one each, in order, accepted or with a reason. */
function assessResults(
  results: readonly RowResult[],
  expectedLines: readonly number[],
  d: number,
  lineBytes: ReadonlyMap<number, Buffer>,
): void {
  expect(results.map((r) => r.line)).toEqual(expectedLines);
  for (const result of results) {
    if ('reason' in result) {
      expect(typeof result.reason).toBe('string');
      expect(result.reason.length).toBeGreaterThan(0);
    } else {
      expect(result.features.length).toBe(d);
      for (const v of result.features) expect(Number.isFinite(v)).toBe(true);
      expect(result.label === null || result.label === result.label.trim()).toBe(true);
      // nothing is decoded to U+FFFD: an accepted row's line is valid UTF-8
      expect(isUtf8(lineBytes.get(result.line)!)).toBe(true);
    }
  }
}

async function readAll(open: () => Promise<{ rows: AsyncIterable<RowResult> }>): Promise<RowResult[] | InputFileError> {
  try {
    return await drain((await open()).rows);
  } catch (error) {
    if (error instanceof InputFileError) return error;
    throw error;
  }
}

const CSV_HEADER = 'id,label,a,b\n';
const JSONL_FIRST = '{"id":"first","label":"x","a":1,"b":2}\n';

describe('CSV reader under fuzzing', () => {
  it('gives one result per data line, accepted or rejected with a reason, for any bytes after a header (property)', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.array(fc.nat(), { maxLength: 4 }), async ({ data }, cuts) => {
        // Prepare
        const file = bytes(CSV_HEADER, data);
        // Act
        const results = await readAll(() => openCsvRows(chunksOf(file, cuts), { file: 'fuzz.csv' }));
        // Assess
        expect(results).not.toBeInstanceOf(InputFileError);
        assessResults(results as RowResult[], dataLines(data, 2), 2, linesByNumber(file));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same results when the file is read in byte-range shards (property)', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.integer({ min: 1, max: 6 }), async ({ data }, shards) => {
        // Prepare
        const file = bytes(CSV_HEADER, data);
        const source = bufferRangeSource(file);
        const whole = await readAll(() => openCsvRows(chunksOf(file), { file: 'fuzz.csv' }));
        // Act
        const parts: RowResult[] = [];
        let firstLine = 2; // each range's, from the lines the ranges before it span (shardPlace.ts)
        for (const range of await planLineRanges(source, shards, { header: true })) {
          const counter = new LineCounter();
          const reader = await openCsvRows(counter.count(readLineRange(source, range)), {
            file: 'fuzz.csv',
            header: ['id', 'label', 'a', 'b'],
            firstLine,
          });
          parts.push(...(await drain(reader.rows)));
          firstLine += counter.lines;
        }
        // Assess
        expect(JSON.stringify(parts)).toBe(JSON.stringify(whole));
      }),
      { numRuns: 150 },
    );
  });

  it('refuses a file only as a whole, with an InputFileError, whatever its bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          body.map((b) => b.data),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
        ),
        async (file) => {
          // Act
          const results = await readAll(() => openCsvRows(chunksOf(file), { file: 'fuzz.csv' }));
          // Assess
          if (results instanceof InputFileError) expect(results.reason.length).toBeGreaterThan(0);
          else for (const r of results) expect('reason' in r ? r.reason.length > 0 : r.features.length > 0).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** JSON-ish lines: real JSON objects (deep, odd strings, big numbers) as well as the pieces above. */
const jsonLine = fc.oneof(
  lineBytes,
  fc
    .record({ a: fc.jsonValue({ maxDepth: 4 }), label: fc.jsonValue({ maxDepth: 2 }), b: fc.double() })
    .map((o) => Buffer.from(JSON.stringify(o) ?? 'null')),
  fc
    .record({ a: fc.double(), b: fc.integer(), label: fc.string({ unit: 'binary' }) })
    .map((o) => Buffer.from(JSON.stringify(o))),
  textField.map((label) =>
    bytes(
      '{"a":1,"b":2,"label":"',
      label.filter((x) => x !== 92),
      '"}',
    ),
  ),
  fc
    .tuple(fc.bigInt(), fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constant(200_000)))
    .map(([label, depth]) => Buffer.from(`{"a":${'['.repeat(depth)}${']'.repeat(depth)},"b":1,"label":${label}}`)),
);

describe('JSONL reader under fuzzing', () => {
  it('gives one result per data line, accepted or rejected with a reason, for any bytes after a first object (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(jsonLine, { maxLength: 12 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (lines, crlf, cuts) => {
          // Prepare
          const data = joinLines(lines, crlf ? '\r\n' : '\n', true);
          const file = bytes(JSONL_FIRST, data);
          // Act
          const results = await readAll(() => openJsonlRows(chunksOf(file, cuts), { file: 'fuzz.jsonl' }));
          // Assess
          expect(results).not.toBeInstanceOf(InputFileError);
          assessResults(results as RowResult[], [1, ...dataLines(data, 2)], 2, linesByNumber(file));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a file only as a whole, with an InputFileError, whatever its bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.array(jsonLine, { maxLength: 8 }).map((lines) => joinLines(lines, '\n', true)),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
        ),
        async (file) => {
          // Act
          const results = await readAll(() => openJsonlRows(chunksOf(file), { file: 'fuzz.jsonl' }));
          // Assess
          if (results instanceof InputFileError) expect(results.reason.length).toBeGreaterThan(0);
          else for (const r of results) expect('reason' in r ? r.reason.length > 0 : r.features.length > 0).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
