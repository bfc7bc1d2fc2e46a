import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../lib/errors.ts';
import { checkHoldoutSize } from '../../lib/pipeline/modelSelection/holdout.ts';
import {
  correctedResampledInterval,
  givenLabelsNeeded,
  tQuantile975,
  verdictOf,
} from '../../lib/pipeline/modelSelection/holdoutInterval.ts';

describe('correctedResampledInterval (Nadeau & Bengio 2003)', () => {
  it('widens the t-interval of the split differences by (1/J + n2/n1)', () => {
    // Prepare: J = 5 splits, each trained on 8 labels and tested on 2. By hand: mean 0.2, sample variance
    // (0.01 + 0 + 0.01 + 0.04 + 0.04) / 4 = 0.025, corrected variance (1/5 + 2/8) * 0.025 = 0.01125,
    // half width t(0.975, 4) * sqrt(0.01125) = 2.776 * 0.1060660 = 0.2944393.
    const differences = [0.1, 0.2, 0.3, 0.0, 0.4];

    // Act
    const interval = correctedResampledInterval(differences, 8, 2);

    // Assess
    expect(interval.estimate).toBeCloseTo(0.2, 12);
    expect(interval.low).toBeCloseTo(0.2 - 0.2944393, 6);
    expect(interval.high).toBeCloseTo(0.2 + 0.2944393, 6);
    expect(interval.level).toBe(0.95);
    expect(interval.splits).toEqual(differences);
    expect(interval.method).toContain('Nadeau & Bengio');
  });

  it('is wider than the uncorrected t-interval, by sqrt(1 + J n2/n1)', () => {
    // Prepare
    const differences = [0.05, 0.1, 0.15, 0.1, 0.05, 0.15, 0.1, 0.1, 0.05, 0.15];
    const mean = 0.1;
    const s2 = differences.reduce((a, d) => a + (d - mean) ** 2, 0) / 9;
    const plainHalf = tQuantile975(9) * Math.sqrt(s2 / 10);

    // Act
    const interval = correctedResampledInterval(differences, 40, 10);

    // Assess: (1/10 + 10/40) / (1/10) = 3.5
    expect((interval.high - interval.low) / 2).toBeCloseTo(plainHalf * Math.sqrt(3.5), 12);
  });

  it('needs at least two splits', () => {
    // Act / Assess
    expect(() => correctedResampledInterval([0.1], 8, 2)).toThrow(/at least two splits/);
  });
});

describe('tQuantile975', () => {
  it("gives Student's t 0.975 quantiles: tabled up to 30 degrees of freedom, expanded beyond", () => {
    // Act / Assess (reference values: R qt(0.975, df))
    expect(tQuantile975(1)).toBeCloseTo(12.706, 3);
    expect(tQuantile975(9)).toBeCloseTo(2.262, 3);
    expect(tQuantile975(30)).toBeCloseTo(2.042, 3);
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 3);
    expect(tQuantile975(1000)).toBeCloseTo(1.9623, 3);
    expect(() => tQuantile975(0)).toThrow();
  });
});

describe('verdictOf', () => {
  it('commits only when the interval excludes 0', () => {
    // Act / Assess
    expect(verdictOf({ low: 0.01, high: 0.2 })).toBe('helped');
    expect(verdictOf({ low: -0.3, high: -0.01 })).toBe('did not help');
    expect(verdictOf({ low: -0.1, high: 0.2 })).toBe('cannot tell');
    expect(verdictOf({ low: 0, high: 0.2 })).toBe('cannot tell');
    expect(verdictOf({ low: -0.2, high: 0 })).toBe('cannot tell');
  });
});

describe('givenLabelsNeeded', () => {
  const interval = (estimate: number, half: number) => ({
    estimate,
    low: estimate - half,
    high: estimate + half,
    level: 0.95 as const,
    method: '',
    splits: [],
  });

  it('scales the given labels by (half width / difference)^2', () => {
    // Act / Assess: a 10-point difference inside a 20-point half width needs 4x the labels
    expect(givenLabelsNeeded(interval(0.1, 0.2), 20)).toBe(80);
  });

  it('aims at a 5-point difference when the difference is near 0, and never asks for fewer than 1.5x', () => {
    // Act / Assess
    expect(givenLabelsNeeded(interval(0, 0.1), 20)).toBe(80);
    expect(givenLabelsNeeded(interval(0.2, 0.21), 40)).toBe(60);
  });
});

describe('checkHoldoutSize', () => {
  const labels = (perClass: number[], unlabelled = 5) =>
    Int32Array.from([...perClass.flatMap((count, c) => new Array(count).fill(c)), ...new Array(unlabelled).fill(-1)]);

  it('refuses fewer than 10 given labels, saying to label more rows or leave --holdout out', () => {
    // Act / Assess
    expect(() => checkHoldoutSize(labels([5, 4]), 0.2, 0)).toThrow(OptionsError);
    expect(() => checkHoldoutSize(labels([5, 4]), 0.2, 0)).toThrow(
      /needs at least 10 given labels .* there are 9: label more rows, or leave --holdout out/,
    );
  });

  it('refuses a fraction that holds out none of them, naming one that would', () => {
    // Prepare: 2 classes of 5; round(0.05 * 5) = 0 held out
    const y = labels([5, 5]);

    // Act / Assess
    expect(() => checkHoldoutSize(y, 0.05, 0)).toThrow(/--holdout 0.05 holds out none of the 10 given labels/);
    expect(() => checkHoldoutSize(y, 0.05, 0)).toThrow(/use --holdout 0.10 or more/);
    expect(() => checkHoldoutSize(y, 0.1, 0)).not.toThrow();
  });

  it('accepts 10 given labels at 0.2, and anything without a holdout', () => {
    // Act / Assess
    expect(() => checkHoldoutSize(labels([5, 5]), 0.2, 0)).not.toThrow();
    expect(() => checkHoldoutSize(labels([2, 1]), 0, 0)).not.toThrow();
  });
});
