import type { Writable } from 'node:stream';
import { batchLines, csvField, writeText } from './csvText.ts';
import type { RejectedRow } from './dataset.ts';

export const REJECTED_CSV_HEADER = 'file,line,reason\n';

/** One rejected.csv line, with its `\n`. */
export function rejectedCsvLine(row: RejectedRow): string {
  return `${csvField(row.file)},${row.line},${csvField(row.reason)}\n`;
}

/** rejected.csv as text chunks: the header, then one line per refused row. */
export function rejectedCsvChunks(rows: Iterable<RejectedRow> | AsyncIterable<RejectedRow>): AsyncGenerator<string> {
  return batchLines(rows, REJECTED_CSV_HEADER, rejectedCsvLine);
}

/** Streams rejected.csv to a path or a Writable. */
export async function writeRejectedCsv(
  destination: string | Writable,
  rows: Iterable<RejectedRow> | AsyncIterable<RejectedRow>,
): Promise<void> {
  await writeText(destination, rejectedCsvChunks(rows));
}
