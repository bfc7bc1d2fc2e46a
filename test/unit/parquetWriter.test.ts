import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import type { LabelRecord } from '../../lib/data/labelsWriter.ts';
import { labelsParquetBytes, writeLabelsParquet } from '../../lib/data/parquetWriter.ts';

const RECORDS: LabelRecord[] = [
  { id: 'a', label: 'cat', confidence: 1, source: 'given' },
  { id: 'b,2', label: 'dog', confidence: 1 / 3, source: 'propagated' },
  { id: 'é', label: null, confidence: 0, source: 'none' },
];

function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

describe('parquetWriter', () => {
  it('writes id, label, confidence and source columns that read back unchanged', async () => {
    // Act
    const bytes = await labelsParquetBytes(RECORDS);
    const rows = await parquetReadObjects({ file: arrayBuffer(bytes) });
    // Assess
    expect(rows).toEqual(RECORDS.map((r) => ({ ...r })));
    const schema = parquetMetadata(arrayBuffer(bytes)).schema.map((e) => [e.name, e.type, e.repetition_type]);
    expect(schema).toEqual([
      ['root', undefined, undefined],
      ['id', 'BYTE_ARRAY', 'REQUIRED'],
      ['label', 'BYTE_ARRAY', 'OPTIONAL'],
      ['confidence', 'DOUBLE', 'REQUIRED'],
      ['source', 'BYTE_ARRAY', 'REQUIRED'],
    ]);
  });

  it('writes the same bytes every time, to memory and to a file', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'parquetWriter-'));
    const path = join(dir, 'labels.parquet');
    // Act
    const first = await labelsParquetBytes(RECORDS);
    const second = await labelsParquetBytes(RECORDS);
    await writeLabelsParquet(path, RECORDS);
    const onDisk = await readFile(path);
    await rm(dir, { recursive: true, force: true });
    // Assess
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    expect(onDisk.equals(Buffer.from(first))).toBe(true);
  });

  it('writes an empty file for no records, and refuses a confidence outside [0, 1]', async () => {
    // Act
    const empty = await labelsParquetBytes([]);
    // Assess
    expect(await parquetReadObjects({ file: arrayBuffer(empty) })).toEqual([]);
    await expect(
      labelsParquetBytes([{ id: 'x', label: 'y', confidence: Number.NaN, source: 'given' }]),
    ).rejects.toThrow(RangeError);
  });
});
