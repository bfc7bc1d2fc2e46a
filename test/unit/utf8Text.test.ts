import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invalidUtf8At } from '../../lib/data/utf8Text.ts';

/** The first invalid offset as the WHATWG decoder sees it: the longest prefix that decodes without error. */
function referenceInvalidAt(bytes: Uint8Array): number {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  try {
    fatal.decode(bytes);
    return -1;
  } catch {
    // the first bad sequence starts where a prefix first stops decoding, minus the bytes of a partial sequence
    let good = 0;
    for (let end = 1; end <= bytes.length; end++) {
      try {
        fatal.decode(bytes.subarray(0, end));
        good = end;
      } catch {}
    }
    return good;
  }
}

describe('invalidUtf8At', () => {
  it('accepts well-formed UTF-8, including U+FFFD, a BOM and astral characters', () => {
    expect(invalidUtf8At(new TextEncoder().encode('\ufeffcafé \ufffd 😀 \u{10ffff}'))).toBe(-1);
  });

  it('finds Latin-1 bytes, overlong forms, encoded surrogates, code points above U+10FFFF and cut sequences', () => {
    expect(invalidUtf8At(Buffer.from('caf\xe9', 'latin1'))).toBe(3);
    expect(invalidUtf8At(Uint8Array.from([0x61, 0xc0, 0xaf]))).toBe(1);
    expect(invalidUtf8At(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe(0);
    expect(invalidUtf8At(Uint8Array.from([0x61, 0x62, 0xf4, 0x90, 0x80, 0x80]))).toBe(2);
    expect(invalidUtf8At(Uint8Array.from([0x61, 0xe2, 0x82]))).toBe(1);
    expect(invalidUtf8At(Uint8Array.from([0x80]))).toBe(0);
  });

  it('checks only the given range', () => {
    const bytes = Buffer.from('ok\xff ok', 'latin1');
    expect(invalidUtf8At(bytes, 3, bytes.length)).toBe(-1);
    expect(invalidUtf8At(bytes, 0, bytes.length)).toBe(2);
  });

  it('agrees with the fatal WHATWG decoder on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        expect(invalidUtf8At(bytes)).toBe(referenceInvalidAt(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});
