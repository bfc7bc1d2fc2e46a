import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOptionsInput } from '../../lib/pipeline/runOptions.ts';
import { blobRows, csvText, type DataRow, jsonlText, parquetBytes, writeInput } from './support/datasets.ts';
import { comparableReport, type RunOutput, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * DESIGN.md section 3, "Input": CSV, JSONL and Parquet holding the same rows give the same labels, whatever the
 * sharding (CSV/JSONL by byte ranges, Parquet by row groups), and a directory of CSV parts with explicit ids
 * gives the same labels as the single file.
 */

const OPTIONS: RunOptionsInput = { method: 'label-spreading', kernel: 'knn', neighbors: 6, shards: 3, workers: 1 };
const ROW_GROUP_ROWS = 60;

let rows: DataRow[];
let dir = '';
let csv: RunOutput;

beforeAll(async () => {
  rows = blobRows({ n: 240, d: 4, seed: 21 });
  dir = await tempDir();
  csv = await runPipeline(await writeInput(dir, 'blobs.csv', csvText(rows)), OPTIONS);
});

afterAll(removeTempDirs);

describe('the same rows in every input format', () => {
  it('CSV gives a label to every row, ids kept in input order', () => {
    // Prepare
    const expectedIds = rows.map((row) => row.id);
    // Act
    const ids = csv.labels
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',')[0]);
    // Assess
    expect(ids).toEqual(expectedIds);
    expect(csv.record.shards).toBe(3);
  });

  it('JSONL gives byte-identical labels.csv and the same report', async () => {
    // Prepare
    const input = await writeInput(dir, 'blobs.jsonl', jsonlText(rows));
    // Act
    const jsonl = await runPipeline(input, OPTIONS);
    // Assess
    expect(jsonl.record.shards).toBe(3);
    expect(jsonl.labels === csv.labels, 'labels.csv differs byte for byte').toBe(true);
    expect(comparableReport(jsonl.report)).toEqual(comparableReport(csv.report));
  });

  it('Parquet with several row groups (sharded by row group) gives byte-identical labels.csv', async () => {
    // Prepare
    const input = await writeInput(dir, 'blobs.parquet', parquetBytes(rows, ROW_GROUP_ROWS));
    // Act
    const parquet = await runPipeline(input, OPTIONS);
    // Assess
    expect(parquet.record.shards).toBe(3); // 4 row groups over 3 shards
    expect(parquet.labels === csv.labels, 'labels.csv differs byte for byte').toBe(true);
    expect(comparableReport(parquet.report)).toEqual(comparableReport(csv.report));
  });

  it('Parquet with one shard per row group gives byte-identical labels.csv', async () => {
    // Prepare
    const input = await writeInput(dir, 'groups.parquet', parquetBytes(rows, ROW_GROUP_ROWS));
    // Act
    const parquet = await runPipeline(input, { ...OPTIONS, shards: rows.length / ROW_GROUP_ROWS });
    // Assess
    expect(parquet.record.shards).toBe(4);
    expect(parquet.labels === csv.labels, 'labels.csv differs byte for byte').toBe(true);
  });

  it('a directory of 3 CSV parts with explicit ids gives byte-identical labels.csv', async () => {
    // Prepare
    const parts = join(dir, 'parts');
    await mkdir(parts);
    for (let p = 0; p < 3; p++) {
      await writeInput(parts, `part-${p}.csv`, csvText(rows.slice(p * 80, (p + 1) * 80)));
    }
    // Act
    const directory = await runPipeline(parts, { ...OPTIONS, shards: 6 });
    // Assess
    expect(directory.record.inputs.map((input) => input.key)).toEqual(['part-0.csv', 'part-1.csv', 'part-2.csv']);
    expect(directory.record.shards).toBe(6);
    expect(directory.labels === csv.labels, 'labels.csv differs byte for byte').toBe(true);
    expect(comparableReport(directory.report)).toEqual(comparableReport(csv.report));
  });

  it('property: any rows, row-group size and shard count give the same labels.csv in the three formats', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          n: fc.integer({ min: 20, max: 90 }),
          rowGroupRows: fc.integer({ min: 5, max: 40 }),
          shards: fc.integer({ min: 1, max: 6 }),
        }),
        async ({ seed, n, rowGroupRows, shards }) => {
          // Prepare
          const data = blobRows({ n, d: 3, seed, labelledPerClass: 2 });
          const at = await tempDir();
          const options = { ...OPTIONS, neighbors: 4, shards };
          // Act
          const fromCsv = await runPipeline(await writeInput(at, 'a.csv', csvText(data)), options);
          const fromJsonl = await runPipeline(await writeInput(at, 'a.jsonl', jsonlText(data)), options);
          const fromParquet = await runPipeline(
            await writeInput(at, 'a.parquet', parquetBytes(data, rowGroupRows)),
            options,
          );
          // Assess
          expect(fromJsonl.labels === fromCsv.labels, 'JSONL labels.csv differs byte for byte').toBe(true);
          expect(fromParquet.labels === fromCsv.labels, 'Parquet labels.csv differs byte for byte').toBe(true);
          expect(fromParquet.record.shards).toBe(Math.min(shards, Math.ceil(n / rowGroupRows)));
        },
      ),
      { numRuns: 5, seed: 5 },
    );
  });
});
