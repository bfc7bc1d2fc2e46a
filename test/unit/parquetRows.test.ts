import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ColumnSource, parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFileError } from '../../lib/data/errors.ts';
import { openParquetRows, parquetRowGroups } from '../../lib/data/parquetRows.ts';
import { drain, plain } from '../support/byteStreams.ts';

const VECTOR_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 3 },
  { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'label', type: 'INT32', repetition_type: 'OPTIONAL' },
  { name: 'vector', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
];

function parquet(
  columnData: ColumnSource[],
  options: { schema?: SchemaElement[]; rowGroupSize?: number } = {},
): Uint8Array {
  return new Uint8Array(parquetWriteBuffer({ columnData, ...options }));
}

async function read(bytes: Uint8Array, options: Parameters<typeof openParquetRows>[1] = {}) {
  const reader = await openParquetRows(bytes, { file: 'in.parquet', ...options });
  return { reader, rows: plain(await drain(reader.rows)) };
}

describe('openParquetRows', () => {
  it('reads numeric feature columns with ids and labels, numbering rows from 1', async () => {
    // Prepare
    const bytes = parquet([
      { name: 'id', data: ['a', 'b', 'c'], type: 'STRING' },
      { name: 'label', data: ['cat', null, '-1'], type: 'STRING' },
      { name: 'f1', data: [1.5, 2, 3], type: 'DOUBLE' },
      { name: 'f2', data: [1n, 2n, 3n], type: 'INT64' },
      { name: 'f3', data: [1, 2, 3], type: 'FLOAT' },
    ]);
    // Act
    const { reader, rows } = await read(bytes);
    // Assess
    expect(reader.featureNames).toEqual(['f1', 'f2', 'f3']);
    expect(rows).toEqual([
      { line: 1, row: 0, id: 'a', label: 'cat', features: [1.5, 1, 1] },
      { line: 2, row: 1, id: 'b', label: null, features: [2, 2, 2] },
      { line: 3, row: 2, id: 'c', label: null, features: [3, 3, 3] },
    ]);
  });

  it('rejects a row whose id or label bytes are not UTF-8 instead of decoding them to U+FFFD', async () => {
    // Prepare
    const latin1 = (text: string) => Uint8Array.from(Buffer.from(text, 'latin1'));
    const bytes = parquet([
      { name: 'id', data: [latin1('a'), latin1('\xe9'), latin1('c'), latin1('d')], type: 'BYTE_ARRAY' },
      {
        name: 'label',
        data: [latin1('caf'), latin1('x'), latin1('caf\xe9'), new Uint8Array(Buffer.from('caf\u00e9'))],
        type: 'BYTE_ARRAY',
      },
      { name: 'f', data: [1, 2, 3, 4], type: 'DOUBLE' },
    ]);
    // Act
    const { rows } = await read(bytes);
    // Assess
    const reason = (column: string, at: number) =>
      `column "${column}" is not valid UTF-8 text (byte 0xE9 at byte ${at} of the value); save the file as UTF-8`;
    expect(rows).toEqual([
      { line: 1, row: 0, id: 'a', label: 'caf', features: [1] },
      { line: 2, reason: reason('id', 1) },
      { line: 3, reason: reason('label', 4) },
      { line: 4, row: 3, id: 'd', label: 'caf\u00e9', features: [4] },
    ]);
  });

  it('reads a vector list column, integer labels, and refuses bad rows with their row number', async () => {
    // Prepare
    const bytes = parquet(
      [
        { name: 'id', data: ['a', 'b', 'c', 'd', null, 'f'] },
        { name: 'label', data: [1, -1, 2, null, 1, 3] },
        { name: 'vector', data: [[1, 2], [3, 4], [5], null, [7, 8], [Number.NaN, 1]] },
      ],
      { schema: VECTOR_SCHEMA },
    );
    // Act
    const { reader, rows } = await read(bytes);
    // Assess
    expect(reader.schema).toEqual({ kind: 'vector', d: 2 });
    expect(reader.featureNames).toEqual(['vector[0]', 'vector[1]']);
    expect(rows).toEqual([
      { line: 1, row: 0, id: 'a', label: '1', features: [1, 2] },
      { line: 2, row: 1, id: 'b', label: null, features: [3, 4] },
      { line: 3, reason: '"vector" has 1 values, expected 2' },
      { line: 4, reason: 'column "vector" is null' },
      { line: 5, reason: 'column "id" is null' },
      { line: 6, reason: 'vector[0] is not finite: NaN' },
    ]);
  });

  it('refuses null and non-finite values in feature columns', async () => {
    // Prepare
    const bytes = parquet([
      { name: 'f', data: [1, null, Number.POSITIVE_INFINITY, 4], type: 'DOUBLE' },
      { name: 'g', data: [1, 2, 3, 4], type: 'DOUBLE' },
    ]);
    // Act
    const { rows } = await read(bytes);
    // Assess
    expect(rows).toEqual([
      { line: 1, row: 0, id: undefined, label: null, features: [1, 1] },
      { line: 2, reason: 'column "f" is not a number: null' },
      { line: 3, reason: 'column "f" is not finite: Infinity' },
      { line: 4, row: 3, id: undefined, label: null, features: [4, 4] },
    ]);
  });

  it('reads chosen row groups only, with row numbers over the whole file', async () => {
    // Prepare
    const bytes = parquet([{ name: 'f', data: [10, 11, 12, 13, 14], type: 'DOUBLE' }], { rowGroupSize: 2 });
    // Act
    const groups = await parquetRowGroups(bytes);
    const { rows } = await read(bytes, { rowGroups: [1] });
    // Assess
    expect(groups).toEqual([
      { index: 0, rowStart: 0, rowEnd: 2 },
      { index: 1, rowStart: 2, rowEnd: 4 },
      { index: 2, rowStart: 4, rowEnd: 5 },
    ]);
    expect(rows).toEqual([
      { line: 3, row: 2, id: undefined, label: null, features: [12] },
      { line: 4, row: 3, id: undefined, label: null, features: [13] },
    ]);
  });

  it('honours renamed id and label columns', async () => {
    // Prepare
    const bytes = parquet([
      { name: 'key', data: ['k'], type: 'STRING' },
      { name: 'y', data: ['yes'], type: 'STRING' },
      { name: 'label', data: [2], type: 'DOUBLE' },
    ]);
    // Act
    const { rows } = await read(bytes, { idColumn: 'key', labelColumn: 'y' });
    // Assess
    expect(rows).toEqual([{ line: 1, row: 0, id: 'k', label: 'yes', features: [2] }]);
  });

  describe('unreadable files', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'parquetRows-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it.each([
      [
        'a text column that is not id or label',
        () =>
          parquet([
            { name: 'f', data: [1], type: 'DOUBLE' },
            { name: 'note', data: ['x'], type: 'STRING' },
          ]),
        'column "note" is not numeric (BYTE_ARRAY)',
      ],
      [
        'no feature column',
        () => parquet([{ name: 'id', data: ['x'], type: 'STRING' }]),
        'no feature columns (columns: id)',
      ],
      [
        'bytes that are not Parquet',
        () => new TextEncoder().encode('id,label,f\n1,2,3\n'),
        /^not a readable Parquet file: /,
      ],
    ])('throws InputFileError for %s', async (_, bytes, reason) => {
      // Act
      const failure = read(bytes());
      // Assess
      await expect(failure).rejects.toThrow(InputFileError);
      await expect(failure).rejects.toMatchObject({ file: 'in.parquet', reason });
    });

    it('throws InputFileError for a missing file and for a directory', async () => {
      // Prepare
      const missing = join(dir, 'missing.parquet');
      await writeFile(join(dir, 'ok.parquet'), parquet([{ name: 'f', data: [1], type: 'DOUBLE' }]));
      // Act
      const [noFile, directory, ok] = await Promise.allSettled([
        openParquetRows(missing),
        openParquetRows(dir),
        openParquetRows(join(dir, 'ok.parquet')),
      ]);
      // Assess
      expect(noFile).toMatchObject({
        reason: { name: 'InputFileError', file: missing, reason: 'no such file or directory' },
      });
      expect(directory).toMatchObject({
        reason: { name: 'InputFileError', file: dir, reason: 'is a directory, expected a file' },
      });
      expect(ok).toMatchObject({ status: 'fulfilled', value: { featureNames: ['f'] } });
    });
  });
});
