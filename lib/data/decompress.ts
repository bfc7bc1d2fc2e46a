import { Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { InputFileError } from './errors.ts';

/**
 * Compressed inputs (`.csv.gz`, `.jsonl.gz`; `.zst` where Node.js has zstd): decompressed as a stream, never whole.
 * A compressed file cannot be split by byte ranges (a range's start is no place to start inflating), so it is one
 * shard; the plan step reads its head by inflating only the start.
 */
export type Compression = 'gzip' | 'zstd';

/** A zlib stream: a Transform that can flush what its input so far gives. */
type Inflater = Transform & { flush(callback: () => void): void };

/** Node.js has zstd from 22.15 (and 23.8): `zlib.createZstdDecompress`. */
const zstd = zlib as unknown as { createZstdDecompress?: () => Inflater };

/** A decompressing stream, or InputFileError for zstd on a Node.js without it. */
function inflater(compression: Compression, file: string): Inflater {
  if (compression === 'gzip') return zlib.createGunzip();
  if (typeof zstd.createZstdDecompress !== 'function') {
    throw new InputFileError(
      file,
      `is zstd-compressed, which needs Node.js 22.15 or later (this is ${process.version}): use a newer Node.js, or gzip`,
    );
  }
  return zstd.createZstdDecompress();
}

/** The error of bytes that do not inflate: the file, the format and zlib's reason. */
function corrupt(file: string, compression: Compression, error: unknown): InputFileError {
  const reason = error instanceof Error ? error.message : String(error);
  return new InputFileError(file, `is not valid ${compression} data: ${reason}`, { cause: error });
}

/**
 * The decompressed bytes of a compressed byte stream. A corrupt or truncated stream throws InputFileError naming
 * the file; an error of the source itself (a failed read) is thrown as it is. Stopping early stops the reads.
 */
export async function* decompressStream(
  chunks: AsyncIterable<Uint8Array>,
  compression: Compression,
  file: string,
): AsyncGenerator<Uint8Array> {
  const inflate = inflater(compression, file);
  const source = Readable.from(chunks, { objectMode: false, highWaterMark: 1 });
  let sourceError: unknown;
  source.on('error', (error) => {
    sourceError = error;
    inflate.destroy(error);
  });
  source.pipe(inflate);
  try {
    for await (const chunk of inflate) yield chunk as Buffer;
  } catch (error) {
    if (sourceError !== undefined) throw sourceError;
    throw corrupt(file, compression, error);
  } finally {
    source.destroy();
    inflate.destroy();
  }
}

/** What the start of a compressed file inflates to. */
export interface InflatedHead {
  /** The decompressed bytes (at most about `maxBytes`). */
  readonly bytes: Uint8Array;
  /** The compressed bytes they came from. */
  readonly compressedBytes: number;
  /** Whether `bytes` is the whole file. */
  readonly whole: boolean;
}

/** Compressed bytes fed at a time when inflating a head, so the ratio of what came out to what went in is known. */
const FEED_BYTES = 16 * 1024;

/**
 * Inflates the start of a compressed file (`head`, its first bytes; `size`, the file's) until `maxBytes` came out
 * or the head is used up, without an error for the cut: the plan step's sample for the columns and the row estimate.
 */
export async function inflateHead(
  head: Uint8Array,
  size: number,
  compression: Compression,
  file: string,
  maxBytes: number,
): Promise<InflatedHead> {
  const inflate = inflater(compression, file);
  const out: Buffer[] = [];
  let total = 0;
  let failure: unknown;
  let ended = false;
  /** Resolves the wait for the piece being inflated (flushed, ended or failed). */
  let settle = () => {};
  inflate.on('data', (chunk: Buffer) => {
    out.push(chunk);
    total += chunk.length;
  });
  inflate.on('error', (error) => {
    failure = error;
    settle();
  });
  inflate.on('end', () => {
    ended = true;
    settle();
  });
  let fed = 0;
  try {
    while (fed < head.length && total < maxBytes && failure === undefined && !ended) {
      const piece = head.subarray(fed, fed + FEED_BYTES);
      fed += piece.length;
      await new Promise<void>((resolve) => {
        settle = resolve;
        if (fed >= size) inflate.end(piece);
        else inflate.write(piece, () => inflate.flush(() => resolve()));
      });
      // 'data' events of what was flushed may still be queued
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    inflate.destroy();
  }
  if (failure !== undefined) throw corrupt(file, compression, failure);
  return { bytes: Buffer.concat(out), compressedBytes: fed, whole: ended };
}
