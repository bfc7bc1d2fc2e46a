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

/** First read when probing for a line end; doubles up to the block size. */
const PROBE_BYTES = 64 * 1024;
const BLOCK_BYTES = 1024 * 1024;

export function bufferRangeSource(bytes: Uint8Array): RangeSource {
  return {
    size: bytes.length,
    read: async (start, end) => bytes.subarray(Math.min(start, bytes.length), Math.min(end, bytes.length)),
  };
}

/**
 * A source whose first `headBytes` are fetched once, with one read, and served from memory after: the plan step
 * reads a file's head several times (columns, row estimate, header end) for the price of one read.
 */
export function headCachedSource(source: RangeSource, headBytes: number): RangeSource {
  let head: Promise<Uint8Array> | undefined;
  const cached = Math.min(headBytes, source.size);
  return {
    size: source.size,
    async read(start, end) {
      if (start >= cached) return source.read(start, end);
      head ??= source.read(0, cached);
      const bytes = await head;
      if (end <= cached) return bytes.subarray(start, end);
      const rest = await source.read(cached, end);
      return Buffer.concat([bytes.subarray(start), rest]);
    },
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

/**
 * Plans the byte ranges of a file's ingest tasks without reading its body (issue 16: the plan step reads heads
 * only): with `header`, line 1 is left out of every range (the caller parses it once and hands it to each shard),
 * which reads the first line alone. A range's line numbers are not known here: each ingest task counts the lines
 * of its own range (LineCounter) and the collect step sums them in shard order (lib/pipeline/shards/shardPlace.ts).
 */
export async function planLineRanges(
  source: RangeSource,
  shards: number,
  options: { header: boolean },
): Promise<ByteRange[]> {
  const dataStart = options.header ? await headerEnd(source) : 0;
  return planByteRanges(source.size, shards, dataStart);
}

/**
 * Counts the lines of a byte stream as it passes (a line ends at `\n`; a last line without one counts too): the
 * lines a range spans, blank ones included, which is how the readers number them.
 */
export class LineCounter {
  private newlines = 0;
  private last = 10;

  /** The stream, counted. */
  async *count(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks) {
      // As a Buffer: its indexOf is a native byte search, a Uint8Array's is not.
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) this.newlines++;
      if (chunk.length > 0) this.last = chunk[chunk.length - 1];
      yield chunk;
    }
  }

  /** Lines seen so far. */
  get lines(): number {
    return this.newlines + (this.last === 10 ? 0 : 1);
  }
}

/** Streams bytes [start, end) of a source in blocks (a compressed file, which is read whole). */
export async function* readBlocks(
  source: RangeSource,
  start = 0,
  end = source.size,
  blockBytes = BLOCK_BYTES,
): AsyncGenerator<Uint8Array> {
  for (let pos = start; pos < end; ) {
    const bytes = await source.read(pos, Math.min(pos + blockBytes, end));
    if (bytes.length === 0) return;
    yield bytes;
    pos += bytes.length;
  }
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
