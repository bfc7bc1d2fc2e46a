import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodePoints, encodeLabels } from '../../lib/data/encodeLabels.ts';

describe('encodeLabels', () => {
  it('sorts numeric labels by value, merging spellings of one number', () => {
    // Act
    const { y, classes } = encodeLabels(['10', '2', null, '2.0', '-3', '1e1', '002']);
    // Assess
    expect(classes).toEqual(['-3', '2', '10']);
    expect(Array.from(y)).toEqual([2, 1, -1, 1, 0, 2, 1]);
  });

  it('sorts string labels by code point once any label is not a number', () => {
    // Act
    const { y, classes } = encodeLabels(['b', '10', 'B', '2', 'é', '\u{1F600}', '\uFF5E', null]);
    // Assess
    expect(classes).toEqual(['10', '2', 'B', 'b', 'é', '\uFF5E', '\u{1F600}']);
    expect(Array.from(y)).toEqual([3, 0, 2, 1, 4, 6, 5, -1]);
  });

  it('handles no labels at all', () => {
    expect(encodeLabels([null, null])).toEqual({ y: Int32Array.from([-1, -1]), classes: [] });
  });

  it('maps every label to the class of the same name, in a sorted class list (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer().map(String)))),
        (labels) => {
          // Act
          const { y, classes } = encodeLabels(labels);
          // Assess
          const numeric = labels.every((l) => l === null || /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(l));
          labels.forEach((label, i) => {
            if (label === null) expect(y[i]).toBe(-1);
            else expect(classes[y[i]]).toBe(numeric ? String(Number(label)) : label);
          });
          for (let c = 1; c < classes.length; c++) {
            if (numeric) expect(Number(classes[c - 1])).toBeLessThan(Number(classes[c]));
            else expect(compareCodePoints(classes[c - 1], classes[c])).toBeLessThan(0);
          }
        },
      ),
    );
  });
});

describe('compareCodePoints', () => {
  it('orders like the code points of the strings (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const pa = Array.from(a, (ch) => ch.codePointAt(0)!);
        const pb = Array.from(b, (ch) => ch.codePointAt(0)!);
        let expected = pa.length - pb.length;
        for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
          if (pa[i] !== pb[i]) {
            expected = pa[i] - pb[i];
            break;
          }
        }
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(expected));
      }),
    );
  });
});
