import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ColumnSource, parquetWriteBuffer } from 'hyparquet-writer';
import { seededUniform } from '../../../lib/linalg/seededRandom.ts';

/** Small generated data sets for the pipeline tests, and writers for every input format. */

export interface DataRow {
  readonly id: string;
  /** null = unlabelled. */
  readonly label: string | null;
  readonly features: readonly number[];
}

/** mulberry32, seeded: every generated file is the same on every machine. */
export const seededRandom = seededUniform;

export interface BlobOptions {
  readonly n: number;
  readonly d?: number;
  readonly classes?: readonly string[];
  /** Rows that keep their label, per class (the first ones of each class). */
  readonly labelledPerClass?: number;
  readonly seed?: number;
  /** Spread of the points around their class centre (centres are 3 apart on a diagonal). */
  readonly spread?: number;
}

/**
 * Overlapping blobs with string class names and ids that are not row numbers (`item-<hash>`); features carry 3
 * decimals, so every format writes them exactly. Rows cycle through the classes.
 */
export function blobRows(options: BlobOptions): DataRow[] {
  const { n, d = 4, classes = ['cat', 'dog', 'owl'], labelledPerClass = 3, seed = 1, spread = 1.6 } = options;
  const random = seededRandom(seed);
  const seen = new Map<string, number>();
  const rows: DataRow[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes.length;
    const features = Array.from({ length: d }, (_, j) => {
      const centre = 3 * c + (j % 2 === 0 ? 0 : c);
      return Math.round((centre + spread * (random() + random() + random() - 1.5)) * 1000) / 1000;
    });
    const count = seen.get(classes[c]) ?? 0;
    seen.set(classes[c], count + 1);
    rows.push({
      id: `item-${((i * 7919 + 13) % 100_003).toString(36)}`,
      label: count < labelledPerClass ? classes[c] : null,
      features,
    });
  }
  return rows;
}

export function featureNames(d: number): string[] {
  return Array.from({ length: d }, (_, j) => `f${j}`);
}

/** CSV text: `id,label,f0,...` (or `label,f0,...` without ids); empty label field = unlabelled. */
export function csvText(rows: readonly DataRow[], withIds = true): string {
  const d = rows[0]?.features.length ?? 0;
  const header = [...(withIds ? ['id'] : []), 'label', ...featureNames(d)].join(',');
  const lines = rows.map((row) =>
    [...(withIds ? [row.id] : []), row.label ?? '', ...row.features.map((x) => String(x))].join(','),
  );
  return `${header}\n${lines.join('\n')}\n`;
}

/** JSONL text: one object per row with id, label (null = unlabelled) and one key per feature. */
export function jsonlText(rows: readonly DataRow[]): string {
  const names = featureNames(rows[0]?.features.length ?? 0);
  const lines = rows.map((row) =>
    JSON.stringify({
      id: row.id,
      label: row.label,
      ...Object.fromEntries(names.map((name, j) => [name, row.features[j]])),
    }),
  );
  return `${lines.join('\n')}\n`;
}

/** A Parquet file: id and label strings (label nullable), one DOUBLE column per feature, `rowGroupSize` rows per group. */
export function parquetBytes(rows: readonly DataRow[], rowGroupSize: number): Uint8Array {
  const names = featureNames(rows[0]?.features.length ?? 0);
  const columnData: ColumnSource[] = [
    { name: 'id', data: rows.map((row) => row.id), type: 'STRING' },
    { name: 'label', data: rows.map((row) => row.label), type: 'STRING' },
    ...names.map((name, j): ColumnSource => ({ name, data: rows.map((row) => row.features[j]), type: 'DOUBLE' })),
  ];
  return new Uint8Array(parquetWriteBuffer({ columnData, rowGroupSize }));
}

/** Writes `content` to `dir/name` and returns the path. */
export async function writeInput(dir: string, name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** A scikit-learn fixture's X and y (-1 = unlabelled) as CSV: ids are row numbers, features at full precision. */
export function fixtureCsv(X: readonly (readonly number[])[], y: readonly number[]): string {
  const header = ['id', 'label', ...featureNames(X[0]?.length ?? 0)].join(',');
  const lines = X.map((row, i) => [String(i), y[i] === -1 ? '' : String(y[i]), ...row.map((x) => String(x))].join(','));
  return `${header}\n${lines.join('\n')}\n`;
}
