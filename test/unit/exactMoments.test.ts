import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExactMoments, ratioToDouble } from '../../lib/data/exactMoments.ts';

/** The moments of rows [from, to) of one feature's values. */
function momentsOf(values: Float32Array, from = 0, to = values.length): ExactMoments {
  const moments = new ExactMoments(1);
  moments.add(values.subarray(from, to), to - from);
  return moments;
}

describe('ExactMoments', () => {
  it('gives the exact mean and variance, without cancellation far from zero', () => {
    // Prepare: 1e6 + {1, 2, 3}, exact in Float32; population variance 2/3
    const values = Float32Array.from([1_000_001, 1_000_002, 1_000_003]);

    // Act
    const moments = momentsOf(values);

    // Assess
    expect(moments.count).toBe(3);
    expect(moments.mean[0]).toBe(1_000_002);
    expect(moments.variance()[0]).toBe(2 / 3);
  });

  it('gives the same doubles for the sums of any split into parts, merged in any order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), {
          minLength: 1,
          maxLength: 50,
        }),
        fc.integer({ min: 0, max: 50 }),
        (raw, cut) => {
          // Prepare
          const values = Float32Array.from(raw);
          const at = Math.min(cut, values.length);
          const whole = momentsOf(values);

          // Act: the second part's sums first
          const merged = new ExactMoments(1);
          merged.merge(momentsOf(values, at).sums());
          merged.merge(momentsOf(values, 0, at).sums());

          // Assess
          expect(merged.count).toBe(whole.count);
          expect(merged.mean).toEqual(whole.mean);
          expect(merged.variance()).toEqual(whole.variance());
        },
      ),
    );
  });

  it('leaves out a subtracted row as if it had never been added (a duplicate id)', () => {
    // Prepare: two features
    const kept = Float32Array.from([1.5, -2, 3.25, 7, -0.125, 1e-3]);
    const dropped = Float32Array.from([1000, -3e7]);
    const moments = new ExactMoments(2);
    moments.add(Float32Array.from([...kept.subarray(0, 2), ...dropped, ...kept.subarray(2)]), 4);
    const expected = new ExactMoments(2);
    expected.add(kept, 3);

    // Act
    moments.subtractRow(dropped);

    // Assess
    expect(moments.sums()).toEqual(expected.sums());
    expect(moments.variance()).toEqual(expected.variance());
  });

  it('skips the rows it is told to skip, and subnormal and negative values add exactly', () => {
    // Prepare
    const tiny = 2 ** -149;
    const values = Float32Array.from([tiny, -3 * tiny, 5, tiny]);

    // Act
    const moments = new ExactMoments(1);
    moments.add(values, 4, new Set([2]));

    // Assess: (1 - 3 + 1) 2^-149 / 3
    expect(moments.count).toBe(3);
    expect(moments.mean[0]).toBe(-tiny / 3);
  });
});

describe('ratioToDouble', () => {
  it('rounds a ratio of integers times a power of two to the nearest double', () => {
    // Assess
    expect(ratioToDouble(1n, 3n, 0)).toBe(1 / 3);
    expect(ratioToDouble(-2n, 3n, 0)).toBe(-2 / 3);
    expect(ratioToDouble(1n, 10n, 0)).toBe(0.1);
    expect(ratioToDouble(3n << 300n, 1n, -300)).toBe(3);
    expect(ratioToDouble(7n, 1n, -1074 + 3)).toBe(7 * 2 ** -1071);
    expect(ratioToDouble(0n, 5n, 12)).toBe(0);
    // (2^53 + 1) / 1 is a tie between 2^53 and 2^53 + 2: to even; anything above it rounds up
    expect(ratioToDouble(2n ** 53n + 1n, 1n, 0)).toBe(2 ** 53);
    expect(ratioToDouble((2n ** 53n + 1n) * 3n + 1n, 3n, 0)).toBe(2 ** 53 + 2);
  });
});
