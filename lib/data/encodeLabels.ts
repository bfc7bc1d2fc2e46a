import { UNLABELLED } from './dataset.ts';

/** A decimal number as numpy would read one from text: digits, optional sign, point and exponent. */
const NUMERIC_LABEL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * Encodes raw labels as class indices (null -> UNLABELLED), with classes ordered as numpy.unique orders
 * them: numerically when every label is a decimal number (the class is then named by the number's
 * shortest spelling, so "1", "1.0" and "01" are one class "1"), else by Unicode code point.
 */
export function encodeLabels(labels: readonly (string | null)[]): { y: Int32Array; classes: string[] } {
  const y = new Int32Array(labels.length).fill(UNLABELLED);
  let numeric = true;
  for (const label of labels) {
    if (label !== null && !NUMERIC_LABEL.test(label)) {
      numeric = false;
      break;
    }
  }
  if (numeric) {
    const values = [...new Set(labels.filter((l) => l !== null).map(Number))].sort((a, b) => a - b);
    const index = new Map(values.map((v, i) => [v, i]));
    labels.forEach((label, i) => {
      if (label !== null) y[i] = index.get(Number(label))!;
    });
    return { y, classes: values.map(String) };
  }
  const classes = [...new Set(labels.filter((l) => l !== null))].sort(compareCodePoints);
  const index = new Map(classes.map((c, i) => [c, i]));
  labels.forEach((label, i) => {
    if (label !== null) y[i] = index.get(label)!;
  });
  return { y, classes };
}

/** Orders strings by Unicode code point (numpy's order), not by UTF-16 code unit (JavaScript's). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // surrogates (astral code points) sort after U+E000..U+FFFF
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}
