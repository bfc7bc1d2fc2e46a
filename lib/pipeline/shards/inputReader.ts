import type { ObjectStore } from '../../adapters/objectStore.ts';
import { LineCounter, type RangeSource, readBlocks, readLineRange } from '../../data/byteRanges.ts';
import { openCsvRows } from '../../data/csvRows.ts';
import { type Compression, decompressStream } from '../../data/decompress.ts';
import { InputFileError } from '../../data/errors.ts';
import { compressionOf, formatOf, type InputFormat, KNOWN_INPUTS } from '../../data/inputFiles.ts';
import { openJsonlRows } from '../../data/jsonlRows.ts';
import type { ColumnOptions, RowReader, RowSchema } from '../../data/rowSource.ts';
import type { RunInput, ShardSpec } from './shardPlan.ts';
import { asyncBufferOf, rangeSourceOf } from './storeSources.ts';

/** What the planner learns from the head of an input file. */
export interface InputLayout {
  readonly format: InputFormat;
  readonly featureNames: string[];
  readonly header?: string[];
  readonly schema?: RowSchema;
  readonly rowGroups?: number[];
  /** Whether the file has the id and label columns (a JSONL file: its first record). */
  readonly hasIdColumn: boolean;
  readonly hasLabelColumn: boolean;
}

export function inputFormat(input: RunInput, describe: string): InputFormat {
  const format = formatOf(input.key);
  if (!format) throw new InputFileError(describe, `unknown format: expected a ${KNOWN_INPUTS} file`);
  return format;
}

/** Magic numbers of compressed data, to name it when a file without a .gz or .zst name holds it. */
const MAGIC: { compression: Compression; suffix: string; bytes: number[] }[] = [
  { compression: 'gzip', suffix: '.gz', bytes: [0x1f, 0x8b] },
  { compression: 'zstd', suffix: '.zst', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
];

/** Refuses a CSV or JSONL file whose bytes are compressed but whose name does not say so. */
async function refuseUnnamedCompression(source: RangeSource, input: RunInput, file: string): Promise<void> {
  const start = await source.read(0, 4);
  for (const { compression, suffix, bytes } of MAGIC) {
    if (start.length >= bytes.length && bytes.every((byte, i) => start[i] === byte)) {
      const name = input.key.slice(input.key.lastIndexOf('/') + 1);
      throw new InputFileError(file, `holds ${compression}-compressed data: name it ${name}${suffix} to have it read`);
    }
  }
}

/**
 * The bytes of a whole CSV or JSONL input from its start (decompressed when its name says it is compressed); a
 * reader that stops early stops the reads.
 */
function wholeFileBytes(source: RangeSource, input: RunInput, file: string): AsyncGenerator<Uint8Array> {
  const compression = compressionOf(input.key);
  if (compression) return decompressStream(readBlocks(source), compression, file);
  return readLineRange(source, { start: 0, end: input.size });
}

/**
 * Opens a whole input file just far enough to learn its columns (the plan stage). `text`, when given, is the
 * file's text to read them from (the plan's: the file with its head kept in memory, or a compressed file's
 * inflated head); else the store's object, decompressed as its name says.
 */
export async function readInputLayout(
  store: ObjectStore,
  input: RunInput,
  columns: ColumnOptions,
  text?: RangeSource,
): Promise<InputLayout> {
  const file = store.describe(input.key);
  const format = inputFormat(input, file);
  if (format === 'parquet') {
    const { openParquetRows } = await import('../../data/parquetRows.ts');
    const reader = await openParquetRows(asyncBufferOf(store, input.key, input.size), { ...columns, file });
    return {
      format,
      featureNames: [...reader.featureNames],
      schema: reader.schema,
      rowGroups: reader.rowGroups.map((g) => g.index),
      hasIdColumn: reader.hasIdColumn,
      hasLabelColumn: reader.hasLabelColumn,
    };
  }
  const source = text ?? rangeSourceOf(store, input.key, input.size);
  if (!compressionOf(input.key)) await refuseUnnamedCompression(source, input, file);
  const bytes = text ? readLineRange(text, { start: 0, end: text.size }) : wholeFileBytes(source, input, file);
  if (format === 'csv') {
    const reader = await openCsvRows(bytes, { ...columns, file });
    await reader.close();
    const { hasIdColumn, hasLabelColumn } = reader;
    return {
      format,
      featureNames: [...reader.featureNames],
      header: [...reader.layout.header],
      hasIdColumn,
      hasLabelColumn,
    };
  }
  const reader = await openJsonlRows(bytes, { ...columns, file });
  await reader.close();
  const { hasIdColumn, hasLabelColumn } = reader;
  return { format, featureNames: [...reader.featureNames], schema: reader.schema, hasIdColumn, hasLabelColumn };
}

/** A shard's rows, numbered from 1 at its first line, and the lines it spans once they are read (shardPlace.ts). */
export interface ShardRowReader extends RowReader {
  spannedLines(): number;
}

/** Opens the rows of one shard of an input file (the ingest stage). */
export async function openShardRows(
  store: ObjectStore,
  input: RunInput,
  spec: ShardSpec,
  columns: ColumnOptions,
): Promise<ShardRowReader> {
  const file = store.describe(input.key);
  if (spec.format === 'parquet') {
    const { openParquetRows } = await import('../../data/parquetRows.ts');
    const reader = await openParquetRows(asyncBufferOf(store, input.key, input.size), {
      ...columns,
      file,
      schema: spec.schema,
      rowGroups: spec.rowGroups,
    });
    // Parquet rows are numbered in the file already (row groups are known to the plan).
    return Object.assign(reader, { spannedLines: () => 0 });
  }
  const source = rangeSourceOf(store, input.key, input.size);
  if (spec.compression) {
    // One shard for the whole file, header included: its lines are the file's.
    const bytes = decompressStream(readBlocks(source), spec.compression, file);
    const reader =
      spec.format === 'csv'
        ? await openCsvRows(bytes, { ...columns, file })
        : await openJsonlRows(bytes, { ...columns, file, schema: spec.schema });
    return Object.assign(reader, { spannedLines: () => 0 });
  }
  const counter = new LineCounter();
  const bytes = counter.count(readLineRange(source, spec));
  const reader =
    spec.format === 'csv'
      ? await openCsvRows(bytes, { ...columns, file, header: spec.header, firstLine: 1 })
      : await openJsonlRows(bytes, {
          ...columns,
          file,
          schema: spec.schema,
          firstLine: 1,
          startsFile: spec.start === 0,
        });
  return Object.assign(reader, { spannedLines: () => counter.lines });
}
