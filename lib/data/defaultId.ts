import { basename } from 'node:path';

/**
 * The id of a row from a file without an id column: its 0-based data row number in the file. When the
 * input has several files, the file's name is put in front (`part-1.csv:17`) so ids stay unique.
 */
export function defaultId(row: number, file?: string): string {
  return file === undefined ? String(row) : `${basename(file)}:${row}`;
}
