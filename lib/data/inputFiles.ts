import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { OptionsError } from '../errors.ts';
import { openCsvRows } from './csvRows.ts';
import { type Compression, decompressStream } from './decompress.ts';
import { describeFsError, InputFileError } from './errors.ts';
import { openJsonlRows } from './jsonlRows.ts';
import type { ColumnOptions, RowReader } from './rowSource.ts';

/** The input formats, told apart by file extension. */
export type InputFormat = 'csv' | 'jsonl' | 'parquet';

export interface InputFile {
  readonly path: string;
  readonly format: InputFormat;
  readonly compression?: Compression;
}

const EXTENSIONS: Record<string, InputFormat> = {
  '.csv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.parquet': 'parquet',
};
const COMPRESSIONS: Record<string, Compression> = { '.gz': 'gzip', '.zst': 'zstd' };
/** The file names an input may have, for messages. */
export const KNOWN_INPUTS = '.csv, .jsonl, .ndjson or .parquet (CSV and JSON Lines also as .gz or .zst)';
const READ_CHUNK_BYTES = 1024 * 1024;

/** The compression of a file name (`.gz`, `.zst`, case-insensitive), or undefined. */
export function compressionOf(path: string): Compression | undefined {
  return COMPRESSIONS[extname(path).toLowerCase()];
}

/**
 * The format of a file name (case-insensitive extension, after a compression suffix), or undefined. Parquet
 * compresses inside the file: a compressed Parquet file is not an input.
 */
export function formatOf(path: string): InputFormat | undefined {
  const compression = compressionOf(path);
  const format = EXTENSIONS[extname(compression ? path.slice(0, -extname(path).length) : path).toLowerCase()];
  return compression && format === 'parquet' ? undefined : format;
}

/** An input file of a path whose format is known. */
function inputFile(path: string, format: InputFormat): InputFile {
  const compression = compressionOf(path);
  return compression ? { path, format, compression } : { path, format };
}

/**
 * Expands the input paths: a file is taken as is (its extension must be known); a directory gives its
 * *.csv, *.jsonl, *.ndjson and *.parquet entries (CSV and JSON Lines also .gz or .zst), not recursively, hidden names (".x") left out, sorted
 * by name. Throws InputFileError for a missing path, an unknown extension or a directory without data.
 */
export async function listInputFiles(paths: string | readonly string[]): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const path of typeof paths === 'string' ? [paths] : paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (error) {
      throw new InputFileError(path, describeFsError(error), { cause: error });
    }
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((name) => !name.startsWith('.') && formatOf(name)).sort();
      if (names.length === 0) throw new InputFileError(path, `the directory holds no ${KNOWN_INPUTS} file`);
      for (const name of names) files.push(inputFile(join(path, name), formatOf(name)!));
    } else {
      const format = formatOf(path);
      if (!format) throw new InputFileError(path, `unknown format: expected a ${KNOWN_INPUTS} file`);
      files.push(inputFile(path, format));
    }
  }
  if (files.length === 0) throw new OptionsError('no input given');
  return files;
}

/** A file's bytes as a stream; read errors become InputFileError. */
export async function* fileBytes(path: string): AsyncGenerator<Uint8Array> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new InputFileError(path, 'is a directory, expected a file');
    for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES })) yield chunk as Buffer;
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError(path, describeFsError(error), { cause: error });
  }
}

/** Opens an input file with the reader of its format. */
export async function openInputFile(file: InputFile, options: ColumnOptions = {}): Promise<RowReader> {
  const common = { labelColumn: options.labelColumn, idColumn: options.idColumn, file: file.path };
  const bytes = file.compression
    ? decompressStream(fileBytes(file.path), file.compression, file.path)
    : fileBytes(file.path);
  switch (file.format) {
    case 'csv':
      return openCsvRows(bytes, common);
    case 'jsonl':
      return openJsonlRows(bytes, common);
    case 'parquet': {
      const { openParquetRows } = await import('./parquetRows.ts');
      return openParquetRows(file.path, common);
    }
  }
}
