import { InputFileError } from './errors.ts';

/** Longest line accepted, in bytes: longer means binary data or a missing newline. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Regroups a byte stream into blocks of whole lines: every block ends with `\n`, except the last one
 * when the stream does not end with a newline. Readers then find lines with a native byte search and pay
 * one await per block, not per line. A block may share memory with a chunk of the source and is valid
 * until the next one is requested. `\n` (0x0A) never occurs inside a UTF-8 sequence, so each line can be
 * decoded on its own.
 */
export async function* lineBlocks(
  source: AsyncIterable<Uint8Array>,
  file = '<stream>',
  maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<Buffer> {
  let carry: Buffer[] = [];
  let carryBytes = 0;
  for await (const chunk of source) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lastNewline = bytes.lastIndexOf(10);
    if (lastNewline === -1) {
      carry.push(Buffer.from(bytes));
      carryBytes += bytes.length;
      if (carryBytes > maxLineBytes) throw tooLong(file, maxLineBytes);
      continue;
    }
    const head = bytes.subarray(0, lastNewline + 1);
    if (carryBytes > 0) {
      carry.push(head);
      yield Buffer.concat(carry, carryBytes + head.length);
    } else yield head;
    carry = lastNewline + 1 < bytes.length ? [Buffer.from(bytes.subarray(lastNewline + 1))] : [];
    carryBytes = bytes.length - lastNewline - 1;
  }
  if (carryBytes > 0) yield Buffer.concat(carry, carryBytes);
}

function tooLong(file: string, max: number): InputFileError {
  return new InputFileError(file, `a line is longer than ${max} bytes (binary data, or no line breaks?)`);
}

/** End of the line starting at `start` in a block: the index of its `\n`, or the block's length. */
export function lineEndIn(block: Uint8Array, start: number): number {
  const end = block.indexOf(10, start);
  return end === -1 ? block.length : end;
}

/** Content end of the line [start, end): before a trailing `\r` (CRLF). */
export function contentEnd(block: Uint8Array, start: number, end: number): number {
  return end > start && block[end - 1] === 13 ? end - 1 : end;
}

/** True when bytes [start, end) are only spaces and tabs: such lines carry no row and are skipped. */
export function isBlankBytes(block: Uint8Array, start: number, end: number): boolean {
  for (let k = start; k < end; k++) {
    const c = block[k];
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** Decodes a block into its lines (without `\n` and trailing `\r`). */
export function blockLines(block: Buffer): string[] {
  const lines = block.toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.charCodeAt(line.length - 1) === 13) lines[i] = line.slice(0, -1);
  }
  return lines;
}

/** True for a line holding nothing but spaces and tabs. */
export function isBlankLine(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** Removes a byte-order mark (U+FEFF) at the start of the first line of a file. */
export function stripBom(line: string): string {
  return line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
}
