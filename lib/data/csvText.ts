import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field, quoted (with `""` for `"`) only when it holds a comma, a quote or a line break. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Groups lines into chunks of about `linesPerChunk` lines, so that a stream is written in few calls. */
export async function* batchLines<T>(
  records: Iterable<T> | AsyncIterable<T>,
  header: string,
  format: (record: T) => string,
  linesPerChunk = 4096,
): AsyncGenerator<string> {
  let chunk = header;
  let count = 0;
  for await (const record of records) {
    chunk += format(record);
    if (++count === linesPerChunk) {
      yield chunk;
      chunk = '';
      count = 0;
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Writes text chunks to a file path or a Writable (ended when done), honouring backpressure. */
export async function writeText(destination: string | Writable, chunks: AsyncIterable<string>): Promise<void> {
  const sink = typeof destination === 'string' ? createWriteStream(destination) : destination;
  await pipeline(Readable.from(chunks), sink);
}

/** Collects text chunks into one string (small outputs, tests). */
export async function collectText(chunks: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const chunk of chunks) text += chunk;
  return text;
}
