import { UNLABELLED } from './dataset.ts';
import { compareDecimalValues, decimalValue, isDecimalText } from './decimalText.ts';

/**
 * Encodes labels as class indices (null -> UNLABELLED). A class is a label's exact text (the readers trim
 * the spaces around it, labelFromText): "1" and "1.0", or 9007199254740992 and 9007199254740993, are two
 * classes, never merged through a float value. Classes are ordered as numpy.unique orders them: by value
 * when every label is a decimal number (compared exactly as decimals; equal values, such as "1" and "1.0",
 * by their text), else by Unicode code point.
 */
export function encodeLabels(labels: readonly (string | null)[]): { y: Int32Array; classes: string[] } {
  const distinct = new Set<string>();
  for (const label of labels) if (label !== null) distinct.add(label);
  const classes = [...distinct];
  if (classes.every(isDecimalText)) {
    const values = new Map(classes.map((c) => [c, decimalValue(c)]));
    classes.sort((a, b) => compareDecimalValues(values.get(a)!, values.get(b)!) || compareCodePoints(a, b));
  } else {
    classes.sort(compareCodePoints);
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const y = new Int32Array(labels.length).fill(UNLABELLED);
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
