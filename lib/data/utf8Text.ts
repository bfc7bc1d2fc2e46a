import { isUtf8 } from 'node:buffer';

/**
 * UTF-8 validity of input bytes. Decoding invalid bytes would turn them into U+FFFD and merge distinct values
 * silently (Latin-1 'caf\xe9' and 'caf\xe8' both become 'caf\ufffd'), so the readers refuse such a row instead,
 * saying where the first bad byte is (DESIGN.md section 3: bytes that are not UTF-8 are rejected with their line).
 */

/**
 * The offset of the first byte in [start, end) that does not begin a well-formed UTF-8 sequence (Unicode
 * Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or -1 when all of them are valid.
 */
export function invalidUtf8At(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (isUtf8(bytes.subarray(start, end))) return -1;
  for (let i = start; i < end; ) {
    const c = bytes[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let following: number;
    let low = 0x80;
    let high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) following = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      following = 2;
      if (c === 0xe0) low = 0xa0;
      if (c === 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      following = 3;
      if (c === 0xf0) low = 0x90;
      if (c === 0xf4) high = 0x8f;
    } else return i;
    if (i + following >= end) return i;
    const second = bytes[i + 1];
    if (!(second >= low && second <= high)) return i;
    for (let k = 2; k <= following; k++) {
      const next = bytes[i + k];
      if (!(next >= 0x80 && next <= 0xbf)) return i;
    }
    i += following + 1;
  }
  return -1;
}

/**
 * The reason a line (or a Parquet value: `unit` 'value') is refused for its bytes, naming the first bad byte
 * (1-based within the unit).
 */
export function invalidUtf8Reason(
  bytes: Uint8Array,
  offset: number,
  start: number,
  what = 'the line',
  unit = 'line',
): string {
  const hex = bytes[offset].toString(16).toUpperCase().padStart(2, '0');
  return `${what} is not valid UTF-8 text (byte 0x${hex} at byte ${offset - start + 1} of the ${unit}); save the file as UTF-8`;
}
