import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvLayout, csvLineParser, openCsvRows, parseCsvHeader, splitCsvLine } from '../../lib/data/csvRows.ts';
import { InputFileError } from '../../lib/data/errors.ts';
import type { RowResult } from '../../lib/data/rowSource.ts';
import { chunksOf, drain, plain } from '../support/byteStreams.ts';

async function readCsv(text: string, options: Parameters<typeof openCsvRows>[1] = {}, cuts: number[] = []) {
  const reader = await openCsvRows(chunksOf(text, cuts), { file: 'in.csv', ...options });
  return { reader, rows: plain(await drain(reader.rows)) };
}

describe('openCsvRows', () => {
  it('reads ids, labels (empty and -1 unlabelled) and features, numbering lines from the header', async () => {
    // Prepare
    const text = 'id,label,f1,f2\na,cat,1,2.5\nb,,-3,4e2\nc,-1,0.5,-0\nd,7,1,1\n';
    // Act
    const { reader, rows } = await readCsv(text);
    // Assess
    expect(reader.featureNames).toEqual(['f1', 'f2']);
    expect(reader.hasIdColumn && reader.hasLabelColumn).toBe(true);
    expect(rows).toEqual([
      { line: 2, row: 0, id: 'a', label: 'cat', features: [1, 2.5] },
      { line: 3, row: 1, id: 'b', label: null, features: [-3, 400] },
      { line: 4, row: 2, id: 'c', label: null, features: [0.5, -0] },
      { line: 5, row: 3, id: 'd', label: '7', features: [1, 1] },
    ]);
  });

  it('handles quoted fields, CRLF, a BOM, a missing final newline and blank lines', async () => {
    // Prepare
    const text = '\ufeffid,"label",x\r\n"a,1","say ""hi""","2.5"\r\n\r\n  \r\nb,,3';
    // Act
    const { reader, rows } = await readCsv(text);
    // Assess
    expect(reader.layout.header).toEqual(['id', 'label', 'x']);
    expect(rows).toEqual([
      { line: 2, row: 0, id: 'a,1', label: 'say "hi"', features: [2.5] },
      { line: 5, row: 3, id: 'b', label: null, features: [3] },
    ]);
  });

  it('without an id column leaves ids to the caller and counts data rows over the whole file', async () => {
    // Prepare
    const text = 'f1,label\n1,x\n2,y\n';
    // Act
    const { reader, rows } = await readCsv(text);
    // Assess
    expect(reader.hasIdColumn).toBe(false);
    expect(rows.map((r) => (r as { id: unknown; row: number }).id)).toEqual([undefined, undefined]);
    expect(rows.map((r) => (r as { row: number }).row)).toEqual([0, 1]);
  });

  it('honours renamed label and id columns; the default names become features', async () => {
    // Prepare
    const text = 'key,target,id\nk1,yes,5\n';
    // Act
    const { reader, rows } = await readCsv(text, { labelColumn: 'target', idColumn: 'key' });
    // Assess
    expect(reader.featureNames).toEqual(['id']);
    expect(rows).toEqual([{ line: 2, row: 0, id: 'k1', label: 'yes', features: [5] }]);
  });

  it('refuses each bad row with its line and reason and keeps the others', async () => {
    // Prepare
    const text = [
      'id,label,f1,f2,f3',
      'ok1,a,1,2,3',
      'short,a,1,2',
      'long,a,1,2,3,4',
      'word,a,1,2,abc',
      'nan,a,NaN,2,3',
      'inf,a,1,-inf,3',
      'huge,a,1,1e999,3',
      'empty,a,1,,3',
      'blank,a,1,  ,3',
      'hex,a,0x10,2,3',
      ',a,1,2,3',
      '"open,a,1,2,3',
      '"x"y,a,1,2,3',
      'x"y,a,1,2,3',
      'ok2,,4,5,6',
    ].join('\n');
    // Act
    const { rows } = await readCsv(text);
    // Assess
    expect(rows).toEqual([
      { line: 2, row: 0, id: 'ok1', label: 'a', features: [1, 2, 3] },
      { line: 3, reason: 'expected 5 fields, found 4' },
      { line: 4, reason: 'expected 5 fields, found 6' },
      { line: 5, reason: 'column "f3" is not a number: "abc"' },
      { line: 6, reason: 'column "f1" is not finite: "NaN"' },
      { line: 7, reason: 'column "f2" is not finite: "-inf"' },
      { line: 8, reason: 'column "f2" is not finite: "1e999"' },
      { line: 9, reason: 'column "f2" is empty' },
      { line: 10, reason: 'column "f2" is empty' },
      { line: 11, reason: 'column "f1" is not a number: "0x10"' },
      { line: 12, reason: 'column "id" is empty' },
      { line: 13, reason: 'unterminated quote in column "id" (line breaks inside quotes are not supported)' },
      { line: 14, reason: 'text after the closing quote in column "id"' },
      { line: 15, reason: 'quote inside the unquoted column "id"' },
      { line: 16, row: 14, id: 'ok2', label: null, features: [4, 5, 6] },
    ]);
  });

  it('refuses both halves of a quoted line break rather than swallowing the file or keeping a half', async () => {
    // Prepare
    const text = 'id,label,f\n"a\nb",x,1\nc,y,2\n';
    // Act
    const { rows } = await readCsv(text);
    // Assess
    expect(rows).toEqual([
      { line: 2, reason: 'unterminated quote in column "id" (line breaks inside quotes are not supported)' },
      { line: 3, reason: 'quote inside the unquoted column "id"' },
      { line: 4, row: 2, id: 'c', label: 'y', features: [2] },
    ]);
  });

  it('reads a headerless stream given the header and the first line number (a byte-range shard)', async () => {
    // Prepare
    const text = 'z,q,9\nw,,8\n';
    // Act
    const { rows } = await readCsv(text, { header: ['id', 'label', 'f'], firstLine: 41 });
    // Assess
    expect(rows).toEqual([
      { line: 41, row: 39, id: 'z', label: 'q', features: [9] },
      { line: 42, row: 40, id: 'w', label: null, features: [8] },
    ]);
  });

  it.each([
    ['', 'empty file: no header row'],
    ['\n1,2\n', 'no header row (line 1 is empty)'],
    ['id,la\u0000bel,f\n', 'binary data in the header (control character 0x00); expected UTF-8 CSV text'],
    ['id,label\na,b\n', 'no feature columns (columns: id, label)'],
    ['id,f,f\n', 'duplicate column "f" in the header'],
    [',label,f\n', 'column 1 of the header has no name'],
    ['id,"label,f\n', 'malformed header: unterminated quote in column 2'],
  ])('throws InputFileError for an unreadable file %j', async (text, reason) => {
    // Act
    const failure = readCsv(text);
    // Assess
    await expect(failure).rejects.toThrow(InputFileError);
    await expect(failure).rejects.toMatchObject({ file: 'in.csv', reason });
  });

  it('refuses a header wider than the column limit, saying the limit', async () => {
    // Act
    const narrow = readCsv('id,label,a,b\n1,x,1,2\n', { maxColumns: 3 });
    const wide = readCsv(`${Array.from({ length: 100_001 }, (_, i) => `c${i}`).join(',')}\n`);
    // Assess
    await expect(narrow).rejects.toMatchObject({
      file: 'in.csv',
      reason: 'the header has 4 columns, more than the limit of 3 per file',
    });
    await expect(wide).rejects.toMatchObject({
      reason: 'the header has 100,001 columns, more than the limit of 100,000 per file',
    });
    await expect(readCsv('id,label,a\n1,x,1\n', { maxColumns: 3 })).resolves.toBeDefined();
  });

  it('refuses a header that is not UTF-8, naming the file and the first bad byte', async () => {
    // Prepare
    const bytes = new Uint8Array([0x69, 0x64, 0xff, 0xfe, 0x2c, 0x66, 0x0a]);
    // Act
    const failure = openCsvRows(chunksOf(bytes), { file: 'bin.csv' });
    // Assess
    await expect(failure).rejects.toThrow(InputFileError);
    await expect(failure).rejects.toMatchObject({
      file: 'bin.csv',
      reason: 'the header (line 1) is not valid UTF-8 text (byte 0xFF at byte 3 of the line); save the file as UTF-8',
    });
  });

  it('rejects each row that is not UTF-8 with its line and column, instead of merging Latin-1 labels as U+FFFD', async () => {
    // Prepare: Latin-1 'café' and 'cafè', a quoted Latin-1 id (general path), a valid U+FFFD and valid 'né'
    const latin1 = (text: string) => Buffer.from(text, 'latin1');
    const bytes = Buffer.concat([
      Buffer.from('id,label,f\n'),
      latin1('a,caf\xe9,1\n'),
      latin1('b,caf\xe8,2\n'),
      latin1('"\xe9",x,3\n'),
      Buffer.from('d,\ufffd,4\ne,n\u00e9,5\n'),
      Buffer.from([0x66, 0x2c, 0x78, 0xed, 0xa0, 0x80, 0x2c, 0x36, 0x0a]), // an encoded surrogate
    ]);
    // Act
    const rows = plain(await drain((await openCsvRows(chunksOf(bytes), { file: 'l1.csv' })).rows));
    // Assess
    const reason = (column: string, byte: string, at: number) =>
      `column "${column}" is not valid UTF-8 text (byte 0x${byte} at byte ${at} of the line); save the file as UTF-8`;
    expect(rows).toEqual([
      { line: 2, reason: reason('label', 'E9', 6) },
      { line: 3, reason: reason('label', 'E8', 6) },
      { line: 4, reason: reason('id', 'E9', 2) },
      { line: 5, row: 3, id: 'd', label: '\ufffd', features: [4] },
      { line: 6, row: 4, id: 'e', label: 'n\u00e9', features: [5] },
      { line: 7, reason: reason('label', 'ED', 4) },
    ]);
  });

  it('releases its source on close when the rows are not read', async () => {
    // Prepare
    let released = false;
    async function* source() {
      try {
        yield new TextEncoder().encode('id,f\na,1\n');
        yield new TextEncoder().encode('b,2\n');
      } finally {
        released = true;
      }
    }
    const reader = await openCsvRows(source());
    // Act
    await reader.close();
    // Assess
    expect(released).toBe(true);
  });

  it('gives the same rows whatever the chunk boundaries (property)', async () => {
    const text = '\ufeffid,label,f1,f2\r\né,ü,1.25,-2\r\n"q,""x""",,3,4\r\nbad,a,b,c\r\n\r\nz,-1,1e-3,5\r\n';
    const whole = await readCsv(text);
    const size = new TextEncoder().encode(text).length;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: size }), { maxLength: 12 }), async (cuts) => {
        const { rows } = await readCsv(text, {}, cuts);
        expect(rows).toEqual(whole.rows);
      }),
    );
  });
});

describe('csvLineParser', () => {
  const layout = csvLayout(['id', 'label', 'a', 'b', 'c']);
  const parse = csvLineParser(layout);
  const run = (line: string): RowResult | undefined => {
    const bytes = Buffer.from(line, 'utf8');
    return parse(bytes, 0, bytes.length, 7);
  };
  const numberText = fc.oneof(
    fc.double({ noNaN: true }).map(String),
    fc
      .double({ min: -1e6, max: 1e6, noNaN: true })
      .chain((x) => fc.integer({ min: 0, max: 12 }).map((k) => x.toFixed(k))),
    fc.integer().map(String),
    fc.stringMatching(/^[+-]?\d{0,18}(\.\d{0,18})?([eE][+-]?\d{1,3})?$/),
    fc.constantFrom(
      '',
      ' ',
      ' 1',
      '1 ',
      '.',
      '-',
      '+.5',
      '5.',
      '0x1f',
      '0b1',
      'NaN',
      'inf',
      '-Infinity',
      'abc',
      '1,5',
      '00012',
    ),
  );

  it('computes the same features as Number() on the fast path (property)', () => {
    fc.assert(
      fc.property(fc.tuple(numberText, numberText, numberText), (values) => {
        // Act
        const result = run(`x,y,${values.join(',')}`);
        // Assess
        const expected = values.map(Number);
        // Finite as a Float32 too: a larger number is refused (fieldValues.ts).
        const valid = values.every(
          (v, i) => v.trim() !== '' && Number.isFinite(Math.fround(expected[i])) && !/^0[xbo]/i.test(v),
        );
        if (valid && !values.some((v) => v.includes(','))) {
          expect(result).toMatchObject({ features: Float64Array.from(expected) });
        } else expect(result).toHaveProperty('reason');
      }),
    );
  });

  it('gives the same result on the fast and the quoted (general) path (property)', () => {
    fc.assert(
      fc.property(fc.tuple(numberText, numberText, numberText), fc.string(), (values, label) => {
        // Prepare
        const quotedLabel = `"${label.replaceAll('"', '""')}"`;
        const plainLabel = /[",\r\n]/.test(label) ? quotedLabel : label;
        // Act
        const fast = run(`x,${plainLabel},${values.join(',')}`);
        const general = run(`"x",${quotedLabel},${values.join(',')}`);
        // Assess
        expect(fast).toEqual(general);
      }),
    );
  });

  it('skips blank lines', () => {
    expect(run('   ')).toBeUndefined();
  });
});

describe('splitCsvLine and parseCsvHeader', () => {
  it('splits quoted, empty and trailing fields', () => {
    expect(splitCsvLine('a,"b,c",,"d""e",')).toEqual(['a', 'b,c', '', 'd"e', '']);
    expect(splitCsvLine('"",x')).toEqual(['', 'x']);
    expect(splitCsvLine('a"b,c')).toEqual({ field: 0, problem: 'stray quote' });
    expect(splitCsvLine('a,b"')).toEqual({ field: 1, problem: 'stray quote' });
  });

  it('strips the BOM from the header', () => {
    expect(parseCsvHeader('\ufeffid,f')).toEqual(['id', 'f']);
  });

  it('refuses a one-column header that holds another separator, naming it; keeps a plain one-column header', () => {
    expect(() => parseCsvHeader('id;a;b;label', 'x.csv')).toThrow(
      'x.csv: the header is one column, "id;a;b;label": CSV columns are separated by commas, and these look separated by semicolons',
    );
    expect(() => parseCsvHeader('id\ta\tlabel', 'x.csv')).toThrow(/look separated by tabs$/);
    expect(() => parseCsvHeader('a|b', 'x.csv')).toThrow(/look separated by vertical bars$/);
    expect(parseCsvHeader('f')).toEqual(['f']);
    expect(parseCsvHeader('"a;b",c')).toEqual(['a;b', 'c']);
  });
});
