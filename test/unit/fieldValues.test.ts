import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  idFromValue,
  labelFromText,
  labelFromValue,
  parseFeatureText,
  quoteValue,
  textFeatureProblem,
  valueFeature,
  valueFeatureProblem,
} from '../../lib/data/fieldValues.ts';

describe('parseFeatureText', () => {
  const FLOAT32_MAX = 3.4028234663852886e38;

  it('agrees with Number() on every decimal spelling of a Float32-range number (property)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, min: -FLOAT32_MAX, max: FLOAT32_MAX }), (x) => {
        for (const text of [String(x), x.toExponential(), ` ${x} `]) expect(parseFeatureText(text)).toBe(Number(text));
      }),
    );
  });

  it('refuses finite numbers that a Float32 would hold as Infinity (property), and keeps those that round to its largest', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: 3.5e38 }), fc.boolean(), (x, negative) => {
        expect(parseFeatureText(String(negative ? -x : x))).toBeNaN();
      }),
    );
    expect(parseFeatureText('3.4028235e38')).toBe(3.4028235e38); // Math.fround gives FLOAT32_MAX
    expect(textFeatureProblem('column "f"', '-1e300')).toBe(
      'column "f" is beyond +-3.4e38, the Float32 range features are held in: "-1e300"',
    );
    expect(valueFeature(1e39)).toBeUndefined();
    expect(valueFeature(-3.4e38)).toBe(-3.4e38);
    expect(valueFeatureProblem('field "f"', 1e300)).toBe(
      'field "f" is beyond +-3.4e38, the Float32 range features are held in: 1e+300',
    );
  });

  it.each(['', '  ', 'abc', 'NaN', 'inf', 'Infinity', '-Infinity', '1e999', '0x1f', '0b11', '0o7', '1,5', '--1'])(
    'refuses %j',
    (text) => {
      expect(parseFeatureText(text)).toBeNaN();
    },
  );

  it('explains refusals', () => {
    expect(textFeatureProblem('column "f"', ' ')).toBe('column "f" is empty');
    expect(textFeatureProblem('column "f"', 'nan')).toBe('column "f" is not finite: "nan"');
    expect(textFeatureProblem('column "f"', '-1e400')).toBe('column "f" is not finite: "-1e400"');
    expect(textFeatureProblem('column "f"', 'x')).toBe('column "f" is not a number: "x"');
  });
});

describe('labels and ids', () => {
  it('treats empty text and -1 as unlabelled, anything else by its trimmed text', () => {
    expect(['', '-1', '-1.0', ' -1', 'cat', '0', '-2', 'NA', 'null'].map((t) => labelFromText(t))).toEqual([
      null,
      null,
      null,
      null,
      'cat',
      '0',
      '-2',
      'NA',
      'null',
    ]);
  });

  it('trims the spaces around a label, the same for words and numbers', () => {
    // Act
    const labels = [' a', 'a', 'a ', '\ta\t', ' 1', '1 ', ' 1.0 ', '   ', ' -1.0 ', '-0.1e1', '-1.00000000000000001'];
    // Assess
    expect(labels.map((t) => labelFromText(t))).toEqual([
      'a',
      'a',
      'a',
      'a',
      '1',
      '1',
      '1.0',
      null,
      null,
      null,
      '-1.00000000000000001',
    ]);
  });

  it('names a number label by the spelling the reader gives, else its shortest spelling', () => {
    expect(labelFromValue(9007199254740992, '9007199254740993')).toBe('9007199254740993');
    expect(labelFromValue(1, '1.0')).toBe('1.0');
    expect(labelFromValue(-1, '-1.0')).toBeNull();
    expect(labelFromValue(0, '1e-400')).toBe('1e-400');
  });

  it('reads decoded labels and ids', () => {
    expect([null, undefined, -1, -1n, 3, 2.5, 4n, 'x', true, {}].map((v) => labelFromValue(v))).toEqual([
      null,
      null,
      null,
      null,
      '3',
      '2.5',
      '4',
      'x',
      undefined,
      undefined,
    ]);
    expect(['a', 7, 8n, null, true].map((v) => idFromValue(v))).toEqual(['a', '7', '8', undefined, undefined]);
  });

  it('quotes values as JSON, shortening long ones', () => {
    expect(quoteValue('a"b')).toBe('"a\\"b"');
    expect(quoteValue('x'.repeat(100))).toBe(`"${'x'.repeat(60)}"...`);
    expect(quoteValue(12n)).toBe('12');
    expect(quoteValue({ a: 1 })).toBe('{"a":1}');
  });
});
