import { open } from 'node:fs/promises';
import { describeFsError, InputFileError } from './errors.ts';

/**
 * Byte ranges of line-oriented files (CSV, JSONL) for a sharded ingest. A range [start, end) owns the lines
 * that START inside it: a line starts at 0 and after every `\n`. Reading a range skips the partial line at
 * its start (it belongs to the previous range) and reads past `end` to finish its last line, so the ranges
 * of a plan together yield every line exactly once, whatever the range boundaries.
 *
 * CSV records are single lines (see csvRows.ts), so this is exact for CSV too; a quoted field with a line
 * break is refused in whole-file and sharded reading alike.
 */

/** Random access to bytes: a local file, an in-memory buffer, or an object store's ranged GET. */
export interface RangeSource {
  readonly size: number;
  /** Bytes [start, end); fewer only when the source ends first. */
  read(start: number, end: number): Promise<Uint8Array>;
}

export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** A range with the 1-based number of the first line it owns (used for line numbers and default ids). */
export interface LineShard extends ByteRange {
  readonly firstLine: number;
}

/** First read when probing for a line end; doubles up to the block size. */
const PROBE_BYTES = 64 * 1024;
const BLOCK_BYTES = 1024 * 1024;
/** Reads of the newline count that numbers lines: few and large (each read is a file open or an S3 GET). */
const COUNT_BLOCK_BYTES = 8 * 1024 * 1024;

export function bufferRangeSource(bytes: Uint8Array): RangeSource {
  return {
    size: bytes.length,
    read: async (start, end) => bytes.subarray(Math.min(start, bytes.length), Math.min(end, bytes.length)),
  };
}

/** A local file as a RangeSource; close it when done. Throws InputFileError when it cannot be opened. */
export async function openFileRangeSource(path: string): Promise<RangeSource & { close(): Promise<void> }> {
  try {
    const handle = await open(path, 'r');
    const info = await handle.stat();
    if (info.isDirectory()) {
      await handle.close();
      throw new InputFileError(path, 'is a directory, expected a file');
    }
    return {
      size: info.size,
      async read(start, end) {
        const length = Math.max(0, Math.min(end, info.size) - start);
        const buffer = Buffer.allocUnsafe(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, start + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return buffer.subarray(0, filled);
      },
      close: () => handle.close(),
    };
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError(path, describeFsError(error), { cause: error });
  }
}

/**
 * Splits [dataStart, size) into `shards` contiguous ranges of near-equal byte length (the first ones one
 * byte longer). Some may own no line (short files, long lines); they are kept so the plan has `shards`
 * entries. For a CSV, pass the end of the header line as `dataStart` (see headerEnd).
 */
export function planByteRanges(size: number, shards: number, dataStart = 0): ByteRange[] {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be an integer >= 1, got ${shards}`);
  if (!(dataStart >= 0 && dataStart <= size)) throw new RangeError(`dataStart ${dataStart} is outside [0, ${size}]`);
  const total = size - dataStart;
  const base = Math.floor(total / shards);
  const extra = total - base * shards;
  const ranges: ByteRange[] = [];
  let start = dataStart;
  for (let s = 0; s < shards; s++) {
    const end = start + base + (s < extra ? 1 : 0);
    ranges.push({ start, end });
    start = end;
  }
  return ranges;
}

/** Position of the first `\n` at or after `from`, or -1. */
export async function findNewline(source: RangeSource, from: number): Promise<number> {
  let pos = from;
  let step = PROBE_BYTES;
  while (pos < source.size) {
    const bytes = await source.read(pos, Math.min(pos + step, source.size));
    if (bytes.length === 0) break;
    const at = bytes.indexOf(10);
    if (at !== -1) return pos + at;
    pos += bytes.length;
    step = Math.min(step * 2, BLOCK_BYTES);
  }
  return -1;
}

/** End of line 1 including its `\n` (the size when there is none): where a CSV's data starts. */
export async function headerEnd(source: RangeSource): Promise<number> {
  const newline = await findNewline(source, 0);
  return newline === -1 ? source.size : newline + 1;
}

/** Bytes read to estimate a file's line count. */
const ESTIMATE_BYTES = 1024 * 1024;

/**
 * About how many lines a file has, from the line length of its first MiB (exact when the file is shorter): one
 * read, for bounds that must be checked before the file is split (runLimits.ts).
 */
export async function estimateLines(source: RangeSource): Promise<number> {
  const head = await source.read(0, Math.min(source.size, ESTIMATE_BYTES));
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.length);
  let lines = 0;
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines++;
  if (bytes.length >= source.size) return lines + (bytes.length > 0 && bytes[bytes.length - 1] !== 10 ? 1 : 0);
  return Math.max(1, lines) * (source.size / bytes.length);
}

/** Number of `\n` bytes in [start, end). */
export async function countNewlines(source: RangeSource, start: number, end: number): Promise<number> {
  let count = 0;
  const stop = Math.min(end, source.size);
  for (let pos = start; pos < stop; ) {
    const read = await source.read(pos, Math.min(pos + COUNT_BLOCK_BYTES, stop));
    if (read.length === 0) break;
    // As a Buffer: its indexOf is a native byte search, a Uint8Array's is not (plan of 1M rows, 490 MB of CSV:
    // 0.66 s before, with the reads).
    const bytes = Buffer.from(read.buffer, read.byteOffset, read.length);
    for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) count++;
    pos += bytes.length;
  }
  return count;
}

/**
 * Plans line shards for a file: the byte ranges, and for each the number of its first line, found with one
 * pass over the bytes before the last range (newline counting only, no parsing). With `header`, line 1 is
 * left out of every range (the caller parses it once and hands it to each shard).
 */
export async function planLineShards(
  source: RangeSource,
  shards: number,
  options: { header: boolean },
): Promise<LineShard[]> {
  const dataStart = options.header ? await headerEnd(source) : 0;
  const ranges = planByteRanges(source.size, shards, dataStart);
  const result: LineShard[] = [];
  let counted = 0; // newlines in [0, countedTo)
  let countedTo = 0;
  for (const range of ranges) {
    // lines starting before `start`: the one at 0, plus one per `\n` in [0, start - 1)
    if (range.start === 0) {
      result.push({ ...range, firstLine: 1 });
      continue;
    }
    counted += await countNewlines(source, countedTo, range.start - 1);
    countedTo = range.start - 1;
    result.push({ ...range, firstLine: counted + 2 });
  }
  return result;
}

/**
 * Streams the bytes of the lines owned by a range: from the first line start at or after `start`, up to
 * and including the line end of the last line starting before `end`.
 */
export async function* readLineRange(
  source: RangeSource,
  range: ByteRange,
  blockBytes = BLOCK_BYTES,
): AsyncGenerator<Uint8Array> {
  const end = Math.min(range.end, source.size);
  let pos = range.start;
  if (pos >= end) return;
  if (pos > 0) {
    const newline = await findNewline(source, pos - 1);
    if (newline === -1) return;
    pos = newline + 1;
    if (pos >= end) return;
  }
  let last = -1;
  while (pos < end) {
    const bytes = await source.read(pos, Math.min(pos + blockBytes, end));
    if (bytes.length === 0) return;
    yield bytes;
    last = bytes[bytes.length - 1];
    pos += bytes.length;
  }
  if (last === 10) return;
  let step = PROBE_BYTES;
  while (pos < source.size) {
    const bytes = await source.read(pos, Math.min(pos + step, source.size));
    if (bytes.length === 0) return;
    const at = bytes.indexOf(10);
    if (at !== -1) {
      yield bytes.subarray(0, at + 1);
      return;
    }
    yield bytes;
    pos += bytes.length;
    step = Math.min(step * 2, blockBytes);
  }
}
