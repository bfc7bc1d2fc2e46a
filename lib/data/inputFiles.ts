import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { OptionsError } from '../errors.ts';
import { openCsvRows } from './csvRows.ts';
import { describeFsError, InputFileError } from './errors.ts';
import { openJsonlRows } from './jsonlRows.ts';
import type { ColumnOptions, RowReader } from './rowSource.ts';

/** The input formats, told apart by file extension. */
export type InputFormat = 'csv' | 'jsonl' | 'parquet';

export interface InputFile {
  readonly path: string;
  readonly format: InputFormat;
}

const EXTENSIONS: Record<string, InputFormat> = {
  '.csv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.parquet': 'parquet',
};
const KNOWN = '.csv, .jsonl, .ndjson or .parquet';
const READ_CHUNK_BYTES = 1024 * 1024;

/** The format of a file name (case-insensitive extension), or undefined. */
export function formatOf(path: string): InputFormat | undefined {
  return EXTENSIONS[extname(path).toLowerCase()];
}

/**
 * Expands the input paths: a file is taken as is (its extension must be known); a directory gives its
 * *.csv, *.jsonl, *.ndjson and *.parquet entries, not recursively, hidden names (".x") left out, sorted
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
      if (names.length === 0) throw new InputFileError(path, `the directory holds no ${KNOWN} file`);
      for (const name of names) files.push({ path: join(path, name), format: formatOf(name)! });
    } else {
      const format = formatOf(path);
      if (!format) throw new InputFileError(path, `unknown format: expected a ${KNOWN} file`);
      files.push({ path, format });
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
  switch (file.format) {
    case 'csv':
      return openCsvRows(fileBytes(file.path), common);
    case 'jsonl':
      return openJsonlRows(fileBytes(file.path), common);
    case 'parquet': {
      const { openParquetRows } = await import('./parquetRows.ts');
      return openParquetRows(file.path, common);
    }
  }
}
