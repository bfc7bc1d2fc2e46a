import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodePoints, encodeLabels } from '../../lib/data/encodeLabels.ts';

describe('encodeLabels', () => {
  it('sorts numeric labels by their exact decimal value, keeping each spelling a class of its own', () => {
    // Act
    const { y, classes } = encodeLabels(['10', '2', null, '2.0', '-3', '1e1', '002']);
    // Assess
    expect(classes).toEqual(['-3', '002', '2', '2.0', '10', '1e1']);
    expect(Array.from(y)).toEqual([4, 2, -1, 3, 0, 5, 1]);
  });

  it('keeps numbers apart that float64 would merge: 2^53 and 2^53 + 1, 0 and 1e-400', () => {
    // Act
    const { y, classes } = encodeLabels(['9007199254740993', '1e-400', '9007199254740992', '0', '-1e-400']);
    // Assess
    expect(classes).toEqual(['-1e-400', '0', '1e-400', '9007199254740992', '9007199254740993']);
    expect(Array.from(y)).toEqual([4, 2, 3, 1, 0]);
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
        fc.array(
          fc.option(fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer().map(String), fc.bigInt().map(String))),
        ),
        (labels) => {
          // Act
          const { y, classes } = encodeLabels(labels);
          // Assess
          const numeric = labels.every((l) => l === null || /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(l));
          labels.forEach((label, i) => {
            if (label === null) expect(y[i]).toBe(-1);
            else expect(classes[y[i]]).toBe(label);
          });
          expect(new Set(classes).size).toBe(classes.length);
          for (let c = 1; c < classes.length; c++) {
            if (numeric && /^-?\d+$/.test(classes[c - 1]) && /^-?\d+$/.test(classes[c])) {
              expect(BigInt(classes[c - 1]) <= BigInt(classes[c])).toBe(true);
            } else if (!numeric) expect(compareCodePoints(classes[c - 1], classes[c])).toBeLessThan(0);
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
