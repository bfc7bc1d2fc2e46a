import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareDecimalValues, decimalValue, isDecimalText, isMinusOne } from '../../lib/data/decimalText.ts';

const compare = (a: string, b: string) => Math.sign(compareDecimalValues(decimalValue(a), decimalValue(b))) || 0;

describe('decimalText', () => {
  it('recognises the decimal spellings numpy reads, nothing else', () => {
    // Act
    const accepted = ['1', '-1', '+1', '1.', '.5', '1.5e3', '1E-3', '007', '0.0'].map(isDecimalText);
    const refused = ['', '.', '-', 'e3', '1e', '0x10', 'NaN', 'inf', ' 1', '1 ', '1,5'].map(isDecimalText);
    // Assess
    expect(accepted.every(Boolean)).toBe(true);
    expect(refused.some(Boolean)).toBe(false);
  });

  it('compares exactly where float64 cannot', () => {
    expect(compare('9007199254740992', '9007199254740993')).toBe(-1);
    expect(compare('0', '1e-400')).toBe(-1);
    expect(compare('-1e-400', '0')).toBe(-1);
    expect(compare('1e400', '1e399')).toBe(1);
    expect(compare('-2', '-10')).toBe(1);
    expect(compare('0.1', '1e-1')).toBe(0);
    expect(compare('-0', '0.000')).toBe(0);
    expect(compare('12.5', '125e-1')).toBe(0);
  });

  it('orders integers as BigInt does (property)', () => {
    fc.assert(
      fc.property(fc.bigInt(), fc.bigInt(), fc.nat(5), (a, b, zeros) => {
        const spelled = `${a}${zeros > 0 ? `.${'0'.repeat(zeros)}` : ''}`;
        expect(compare(spelled, String(b))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });

  it('orders decimals as their doubles do when the doubles are exact enough (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1e6, max: 1e6 }), (a, b) => {
        expect(compare(`${a}e-3`, String(b / 1000))).toBe(Math.sign(a - b));
      }),
    );
  });

  it('knows -1 in every spelling, and only -1', () => {
    expect(['-1', '-1.0', '-1e0', '-0.1e1', '-10e-1', '-001.000'].every(isMinusOne)).toBe(true);
    expect(['1', '-1.00000000000000001', '-0.99999999999999999', 'a', '-', '-1x'].some(isMinusOne)).toBe(false);
  });
});
