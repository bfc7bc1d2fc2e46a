import type { ObjectStore } from '../adapters/objectStore.ts';
import { readLineRange } from '../data/byteRanges.ts';
import { openCsvRows } from '../data/csvRows.ts';
import { InputFileError } from '../data/errors.ts';
import { formatOf, type InputFormat } from '../data/inputFiles.ts';
import { openJsonlRows } from '../data/jsonlRows.ts';
import type { ColumnOptions, RowReader, RowSchema } from '../data/rowSource.ts';
import type { RunInput } from './runRecord.ts';
import type { ShardSpec } from './shardPlan.ts';
import { asyncBufferOf, rangeSourceOf } from './storeSources.ts';

/** What the planner learns from the head of an input file. */
export interface InputLayout {
  readonly format: InputFormat;
  readonly featureNames: string[];
  readonly header?: string[];
  readonly schema?: RowSchema;
  readonly rowGroups?: number[];
}

export function inputFormat(input: RunInput, describe: string): InputFormat {
  const format = formatOf(input.key);
  if (!format) throw new InputFileError(describe, 'unknown format: expected a .csv, .jsonl, .ndjson or .parquet file');
  return format;
}

/** Opens a whole input file just far enough to learn its columns (the plan stage). */
export async function readInputLayout(
  store: ObjectStore,
  input: RunInput,
  columns: ColumnOptions,
): Promise<InputLayout> {
  const file = store.describe(input.key);
  const format = inputFormat(input, file);
  if (format === 'parquet') {
    const { openParquetRows } = await import('../data/parquetRows.ts');
    const reader = await openParquetRows(asyncBufferOf(store, input.key, input.size), { ...columns, file });
    return {
      format,
      featureNames: [...reader.featureNames],
      schema: reader.schema,
      rowGroups: reader.rowGroups.map((g) => g.index),
    };
  }
  const bytes = readLineRange(rangeSourceOf(store, input.key, input.size), { start: 0, end: input.size });
  if (format === 'csv') {
    const reader = await openCsvRows(bytes, { ...columns, file });
    await reader.close();
    return { format, featureNames: [...reader.featureNames], header: [...reader.layout.header] };
  }
  const reader = await openJsonlRows(bytes, { ...columns, file });
  await reader.close();
  return { format, featureNames: [...reader.featureNames], schema: reader.schema };
}

/** Opens the rows of one shard of an input file (the ingest stage). */
export async function openShardRows(
  store: ObjectStore,
  input: RunInput,
  spec: ShardSpec,
  columns: ColumnOptions,
): Promise<RowReader> {
  const file = store.describe(input.key);
  if (spec.format === 'parquet') {
    const { openParquetRows } = await import('../data/parquetRows.ts');
    return openParquetRows(asyncBufferOf(store, input.key, input.size), {
      ...columns,
      file,
      schema: spec.schema,
      rowGroups: spec.rowGroups,
    });
  }
  const bytes = readLineRange(rangeSourceOf(store, input.key, input.size), spec);
  if (spec.format === 'csv') {
    return openCsvRows(bytes, { ...columns, file, header: spec.header, firstLine: spec.firstLine });
  }
  return openJsonlRows(bytes, { ...columns, file, schema: spec.schema, firstLine: spec.firstLine });
}
