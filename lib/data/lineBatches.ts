import { InputFileError } from './errors.ts';

/** Longest line accepted (in UTF-16 code units): longer means binary data or a missing newline. */
export const MAX_LINE_LENGTH = 64 * 1024 * 1024;

/**
 * Splits a byte stream into text lines, in batches (one per chunk) so that callers pay one await per chunk,
 * not per line. A line ends at `\n`; a trailing `\r` is removed (CRLF); a final line without `\n` counts; the
 * empty piece after a final `\n` does not. Bytes are decoded as UTF-8 across chunk boundaries. A byte-order
 * mark is kept: only the caller knows whether the stream starts at the start of the file.
 */
export async function* lineBatches(
  source: AsyncIterable<Uint8Array>,
  file = '<stream>',
  maxLineLength = MAX_LINE_LENGTH,
): AsyncGenerator<string[]> {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let tail = '';
  for await (const chunk of source) {
    const text = decoder.decode(chunk, { stream: true });
    if (text.indexOf('\n') === -1) {
      tail += text;
      if (tail.length > maxLineLength) throw tooLong(file, maxLineLength);
      continue;
    }
    const lines = (tail + text).split('\n');
    tail = lines.pop()!;
    if (tail.length > maxLineLength) throw tooLong(file, maxLineLength);
    stripCarriageReturns(lines);
    yield lines;
  }
  tail += decoder.decode();
  if (tail.length > 0) {
    const last = [tail];
    stripCarriageReturns(last);
    yield last;
  }
}

function stripCarriageReturns(lines: string[]): void {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.charCodeAt(line.length - 1) === 13) lines[i] = line.slice(0, -1);
  }
}

function tooLong(file: string, max: number): InputFileError {
  return new InputFileError(file, `a line is longer than ${max} characters (binary data, or no line breaks?)`);
}

/** True for a line holding nothing but whitespace: such lines carry no row and are skipped. */
export function isBlankLine(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** Removes a UTF-8 byte-order mark at the start of the first line of a file. */
export function stripBom(line: string): string {
  return line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
}
