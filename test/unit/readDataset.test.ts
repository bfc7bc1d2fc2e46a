import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type ColumnSource, parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputFileError } from '../../lib/data/errors.ts';
import { listInputFiles } from '../../lib/data/inputFiles.ts';
import { readDataset } from '../../lib/data/readDataset.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'readDataset-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const ROWS = [
  { id: 'a', label: 'dog', f: [0.5, 1.25, -2] },
  { id: 'b', label: null, f: [1, 2, 3] },
  { id: 'c', label: 'cat', f: [-0.125, 0, 1e-3] },
  { id: 'd', label: 'dog', f: [4, 5, 6] },
];

function parquetOf(columnData: ColumnSource[], schema?: SchemaElement[]): Uint8Array {
  return new Uint8Array(parquetWriteBuffer(schema ? { columnData, schema } : { columnData }));
}

describe('readDataset', () => {
  it('reads a gzip-compressed CSV and JSONL as the plain files', async () => {
    // Prepare
    const csvText = `id,label,f0,f1,f2\n${ROWS.map((r) => `${r.id},${r.label ?? ''},${r.f.join(',')}`).join('\n')}\n`;
    const jsonlText = ROWS.map((r) => JSON.stringify({ id: r.id, label: r.label, f0: r.f[0] })).join('\n');
    const plain = [await file('p.csv', csvText), await file('p.jsonl', jsonlText)];
    const packed = [await file('z.csv.gz', gzipSync(csvText)), await file('z.jsonl.gz', gzipSync(jsonlText))];
    // Act
    const fromPlain = await Promise.all(plain.map((path) => readDataset(path)));
    const fromGzip = await Promise.all(packed.map((path) => readDataset(path)));
    // Assess
    expect(fromGzip[0].dataset.ids).toEqual(ROWS.map((r) => r.id));
    expect(fromGzip.map((r) => r.dataset)).toEqual(fromPlain.map((r) => r.dataset));
  });

  it('gives identical Datasets from CSV, JSONL and Parquet of the same data', async () => {
    // Prepare
    const csv = await file(
      'd.csv',
      `id,label,f0,f1,f2\n${ROWS.map((r) => `${r.id},${r.label ?? ''},${r.f.join(',')}`).join('\n')}\n`,
    );
    const jsonl = await file(
      'd.jsonl',
      ROWS.map((r) => JSON.stringify({ id: r.id, label: r.label, f0: r.f[0], f1: r.f[1], f2: r.f[2] })).join('\n'),
    );
    const parquet = await file(
      'd.parquet',
      parquetOf([
        { name: 'id', data: ROWS.map((r) => r.id), type: 'STRING' },
        { name: 'label', data: ROWS.map((r) => r.label), type: 'STRING' },
        ...[0, 1, 2].map((j): ColumnSource => ({ name: `f${j}`, data: ROWS.map((r) => r.f[j]), type: 'DOUBLE' })),
      ]),
    );
    // Act
    const [fromCsv, fromJsonl, fromParquet] = await Promise.all([
      readDataset(csv),
      readDataset(jsonl),
      readDataset(parquet),
    ]);
    // Assess
    expect(fromCsv.dataset).toEqual({
      ids: ['a', 'b', 'c', 'd'],
      X: { data: Float32Array.from(ROWS.flatMap((r) => r.f)), n: 4, d: 3 },
      y: Int32Array.from([1, -1, 0, 1]),
      classes: ['cat', 'dog'],
      featureNames: ['f0', 'f1', 'f2'],
    });
    expect(fromJsonl.dataset).toEqual(fromCsv.dataset);
    expect(fromParquet.dataset).toEqual(fromCsv.dataset);
    expect([fromCsv.rejected, fromJsonl.rejected, fromParquet.rejected]).toEqual([[], [], []]);
  });

  it('gives identical Datasets from JSONL and Parquet vector columns', async () => {
    // Prepare
    const jsonl = await file(
      'v.jsonl',
      ROWS.map((r) => JSON.stringify({ id: r.id, label: r.label, vector: r.f })).join('\n'),
    );
    const parquet = await file(
      'v.parquet',
      parquetOf(
        [
          { name: 'id', data: ROWS.map((r) => r.id) },
          { name: 'label', data: ROWS.map((r) => r.label) },
          { name: 'vector', data: ROWS.map((r) => r.f) },
        ],
        [
          { name: 'root', num_children: 3 },
          { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
          { name: 'label', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
          { name: 'vector', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
          { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
          { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
        ],
      ),
    );
    // Act
    const fromJsonl = await readDataset(jsonl);
    const fromParquet = await readDataset(parquet);
    // Assess
    expect(fromJsonl.dataset.featureNames).toEqual(['vector[0]', 'vector[1]', 'vector[2]']);
    expect(fromParquet.dataset).toEqual(fromJsonl.dataset);
  });

  it('orders numeric classes numerically, each spelling a class, and keeps Float64 storage when asked', async () => {
    // Prepare
    const csv = await file('n.csv', 'label,x\n10,0.1\n2,0.2\n-1,0.3\n2.0,0.4\n');
    // Act
    const { dataset } = await readDataset(csv, { storage: 'f64' });
    // Assess
    expect(dataset.classes).toEqual(['2', '2.0', '10']);
    expect(Array.from(dataset.y)).toEqual([2, 0, -1, 1]);
    expect(dataset.ids).toEqual(['0', '1', '2', '3']);
    expect(dataset.X.data).toEqual(Float64Array.from([0.1, 0.2, 0.3, 0.4]));
  });

  it('reads a directory in name order, with file-qualified default ids and rejected rows of every file', async () => {
    // Prepare
    await file('b.jsonl', '{"label":"y","f":3}\n{"label":"x","f":"bad"}\n');
    await file('a.csv', 'label,f\nx,1\n,oops\n');
    await file('notes.txt', 'ignored');
    await file('.hidden.csv', 'garbage');
    await mkdir(join(dir, 'sub'));
    await file('sub/c.csv', 'label,f\nz,9\n');
    // Act
    const { dataset, rejected, files } = await readDataset(dir);
    // Assess
    expect(files.map((f) => f.path)).toEqual([join(dir, 'a.csv'), join(dir, 'b.jsonl')]);
    expect(dataset.ids).toEqual(['a.csv:0', 'b.jsonl:0']);
    expect(dataset.classes).toEqual(['x', 'y']);
    expect(rejected).toEqual([
      { file: join(dir, 'a.csv'), line: 3, reason: 'column "f" is not a number: "oops"' },
      { file: join(dir, 'b.jsonl'), line: 2, reason: 'field "f" is not a number: "bad"' },
    ]);
  });

  it('rejects a repeated id, naming where it first appeared, across files', async () => {
    // Prepare
    const one = await file('1.csv', 'id,label,f\nx,a,1\ny,b,2\nx,a,3\n');
    const two = await file('2.jsonl', '{"id":"y","label":"a","f":4}\n{"id":"z","label":"b","f":5}\n');
    // Act
    const { dataset, rejected } = await readDataset([one, two]);
    // Assess
    expect(dataset.ids).toEqual(['x', 'y', 'z']);
    expect(Array.from(dataset.X.data)).toEqual([1, 2, 5]);
    expect(rejected).toEqual([
      { file: one, line: 4, reason: `duplicate id "x" (first at ${one}:2)` },
      { file: two, line: 1, reason: `duplicate id "y" (first at ${one}:3)` },
    ]);
  });

  it('accepts files without a label column beside labelled ones', async () => {
    // Prepare
    const labelled = await file('1.csv', 'label,f\na,1\n');
    const unlabelled = await file('2.csv', 'f\n2\n');
    // Act
    const { dataset } = await readDataset([labelled, unlabelled]);
    // Assess
    expect(Array.from(dataset.y)).toEqual([0, -1]);
  });

  it.each([
    [
      'a file whose feature columns differ',
      ['1.csv', 'label,f,g\na,1,2\n'],
      ['2.csv', 'label,f,h\nb,1,2\n'],
      '2.csv',
      /^feature columns differ from those of .*1\.csv: missing "g"; unexpected "h"$/,
    ],
    [
      'the same columns in another order',
      ['1.csv', 'label,f,g\na,1,2\n'],
      ['2.csv', 'label,g,f\nb,1,2\n'],
      '2.csv',
      /the same columns in another order$/,
    ],
    [
      'no label column anywhere',
      ['1.csv', 'f,g\n1,2\n'],
      ['2.jsonl', '{"f":1,"g":2}\n'],
      '1.csv',
      'no input file has a "label" column, so no row is labelled (see --label-column)',
    ],
    [
      'binary data in a CSV',
      ['1.csv', 'label,f\na,1\n'],
      ['2.csv', '\u0000\u0001PNG\nxx'],
      '2.csv',
      /^binary data in the header/,
    ],
  ])('throws InputFileError for %s, naming the file', async (_, first, second, culprit, reason) => {
    // Prepare
    const one = await file(first[0], first[1]);
    const two = await file(second[0], second[1]);
    // Act
    const failure = readDataset([one, two]);
    // Assess
    await expect(failure).rejects.toThrow(InputFileError);
    await expect(failure).rejects.toMatchObject({ file: join(dir, culprit), reason });
  });

  it('throws InputFileError for a directory inside the input named like a data file', async () => {
    // Prepare
    await file('a.csv', 'label,f\na,1\n');
    await mkdir(join(dir, 'x.csv'));
    // Act
    const failure = readDataset(dir);
    // Assess
    await expect(failure).rejects.toMatchObject({
      name: 'InputFileError',
      file: join(dir, 'x.csv'),
      reason: 'is a directory, expected a file',
    });
  });
});

describe('listInputFiles', () => {
  it.each([
    ['a missing path', 'missing.csv', 'no such file or directory'],
    [
      'an unknown extension',
      'data.txt',
      'unknown format: expected a .csv, .jsonl, .ndjson or .parquet (CSV and JSON Lines also as .gz or .zst) file',
    ],
    [
      'a directory without data files',
      'empty',
      'the directory holds no .csv, .jsonl, .ndjson or .parquet (CSV and JSON Lines also as .gz or .zst) file',
    ],
  ])('throws InputFileError for %s', async (_, name, reason) => {
    // Prepare
    if (name === 'data.txt') await file(name, 'x');
    if (name === 'empty') await mkdir(join(dir, name));
    // Act
    const failure = listInputFiles(join(dir, name));
    // Assess
    await expect(failure).rejects.toMatchObject({ name: 'InputFileError', file: join(dir, name), reason });
  });

  it('recognises .ndjson and upper-case extensions', async () => {
    // Prepare
    await file('A.NDJSON', '{}');
    await file('B.Parquet', '');
    // Act
    const files = await listInputFiles(dir);
    // Assess
    expect(files.map((f) => f.format)).toEqual(['jsonl', 'parquet']);
  });
});
