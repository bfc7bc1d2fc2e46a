import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../lib/errors.ts';
import { checkHoldoutSize } from '../../lib/pipeline/holdout.ts';
import { accuracyDifference, heldOutLabelsNeeded, verdictOf } from '../../lib/pipeline/holdoutInterval.ts';

/** n rows of class 0; `right(i)` says whether a model predicts row i right. */
function predictions(n: number, right: (i: number) => boolean): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (right(i) ? 0 : 1));
}

describe('accuracyDifference (paired bootstrap)', () => {
  const truth = new Int32Array(40);

  it('helps when the semi-supervised labels win on many rows and lose on none', () => {
    // Act
    const difference = accuracyDifference(
      truth,
      predictions(40, () => true),
      predictions(40, (i) => i % 2 === 0),
      0,
    );
    // Assess
    expect(difference.estimate).toBe(0.5);
    expect(difference.low).toBeGreaterThan(0.2);
    expect(difference.high).toBeLessThanOrEqual(0.75);
    expect(verdictOf(difference)).toBe('helped');
  });

  it('did not help when they lose, and cannot tell when wins and losses balance', () => {
    // Act
    const worse = accuracyDifference(
      truth,
      predictions(40, (i) => i % 2 === 0),
      predictions(40, () => true),
      0,
    );
    const balanced = accuracyDifference(
      truth,
      predictions(40, (i) => i % 4 !== 0),
      predictions(40, (i) => i % 4 !== 1),
      0,
    );
    const same = accuracyDifference(
      truth,
      predictions(40, () => true),
      predictions(40, () => true),
      0,
    );
    // Assess
    expect(verdictOf(worse)).toBe('did not help');
    expect(balanced.estimate).toBe(0);
    expect(balanced.low).toBeLessThan(0);
    expect(balanced.high).toBeGreaterThan(0);
    expect(verdictOf(balanced)).toBe('cannot tell');
    expect(verdictOf(same)).toBe('cannot tell');
  });

  it('gives one win in 12 rows no verdict, and says more labels would tell', () => {
    // Prepare
    const small = new Int32Array(12);
    const semi = predictions(12, () => true);
    const supervised = predictions(12, (i) => i !== 0);
    // Act
    const difference = accuracyDifference(small, semi, supervised, 0);
    const needed = heldOutLabelsNeeded(small, semi, supervised);
    // Assess
    expect(verdictOf(difference)).toBe('cannot tell');
    // 1.96^2 * (1/12 - 1/144) / (1/12)^2 = 42.3
    expect(needed).toBe(43);
  });

  it('is the same interval for the same seed', () => {
    // Act
    const a = accuracyDifference(
      truth,
      predictions(40, (i) => i % 3 !== 0),
      predictions(40, (i) => i % 5 !== 0),
      7,
    );
    const b = accuracyDifference(
      truth,
      predictions(40, (i) => i % 3 !== 0),
      predictions(40, (i) => i % 5 !== 0),
      7,
    );
    // Assess
    expect(a).toEqual(b);
  });
});

describe('checkHoldoutSize', () => {
  it('refuses a holdout of fewer than 10 labels, saying how many it would keep', () => {
    // Prepare: 3 classes x 10 labels; 0.2 keeps 2 per class = 6
    const y = Int32Array.from({ length: 60 }, (_, i) => (i < 30 ? i % 3 : -1));
    // Act / Assess
    expect(() => checkHoldoutSize(y, 0.2, 0)).toThrow(OptionsError);
    expect(() => checkHoldoutSize(y, 0.2, 0)).toThrow('--holdout 0.2 keeps 6 of the 30 given labels aside');
    expect(() => checkHoldoutSize(y, 0.4, 0)).not.toThrow();
    expect(() => checkHoldoutSize(y, 0, 0)).not.toThrow();
  });
});
