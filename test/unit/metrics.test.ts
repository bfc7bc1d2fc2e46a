import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accuracy, confusionMatrix, f1PerClass, macroF1 } from '../../lib/algorithms/metrics.ts';

describe('accuracy', () => {
  it('is the fraction of equal positions', () => {
    // Prepare
    const yTrue = Int32Array.from([0, 1, 2, 2, 1]);
    const yPred = Int32Array.from([0, 2, 2, 2, 0]);

    // Act
    const value = accuracy(yTrue, yPred);

    // Assess
    expect(value).toBe(3 / 5);
  });

  it('rejects arrays of different lengths and empty ones', () => {
    expect(() => accuracy([0, 1], [0])).toThrow(/differ in length: 2 vs 1/);
    expect(() => accuracy([], [])).toThrow(RangeError);
  });
});

describe('confusionMatrix', () => {
  it('counts true classes in rows and predicted ones in columns over the union of labels', () => {
    // Act
    const { labels, matrix } = confusionMatrix([0, 1, 2, 2], [0, 0, 0, 5]);

    // Assess: scikit-learn's confusion_matrix([0,1,2,2], [0,0,0,5])
    expect(labels).toEqual([0, 1, 2, 5]);
    expect(matrix).toEqual([
      [1, 0, 0, 0],
      [1, 0, 0, 0],
      [1, 0, 0, 1],
      [0, 0, 0, 0],
    ]);
  });

  it('follows the given label order and leaves out pairs outside it', () => {
    // Act
    const { labels, matrix } = confusionMatrix([0, 1, 2, 2, 1], [1, 1, 2, 0, 3], [2, 1]);

    // Assess
    expect(labels).toEqual([2, 1]);
    expect(matrix).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('has a diagonal summing to the number of hits and cells summing to n', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })), { minLength: 1 }),
        (pairs) => {
          const yTrue = pairs.map(([t]) => t);
          const yPred = pairs.map(([, p]) => p);
          const { matrix } = confusionMatrix(yTrue, yPred);
          const total = matrix.flat().reduce((s, v) => s + v, 0);
          const diagonal = matrix.reduce((s, row, i) => s + row[i], 0);
          expect(total).toBe(pairs.length);
          expect(diagonal / total).toBeCloseTo(accuracy(yTrue, yPred), 12);
        },
      ),
      { seed: 3 },
    );
  });
});

describe('macroF1', () => {
  it('averages the per-class F1 scores (scikit-learn f1_score average="macro")', () => {
    // Prepare: class 0: TP 1, FP 2, FN 0 -> 1/2; class 1: TP 0, FN 1 -> 0; class 2: TP 1, FN 1 -> 2/3
    const yTrue = [0, 1, 2, 2];
    const yPred = [0, 0, 0, 2];

    // Act
    const perClass = f1PerClass(yTrue, yPred);
    const macro = macroF1(yTrue, yPred);

    // Assess: sklearn gives 0.38888888888888884
    expect(perClass.labels).toEqual([0, 1, 2]);
    expect(perClass.f1[0]).toBeCloseTo(0.5, 15);
    expect(perClass.f1[1]).toBe(0);
    expect(perClass.f1[2]).toBeCloseTo(2 / 3, 15);
    expect(macro).toBeCloseTo(0.38888888888888884, 15);
  });

  it('scores a predicted-only class 0 and counts it in the average', () => {
    // Act: class 5 is predicted once but never true; sklearn gives 0.125
    const macro = macroF1([0, 1, 2, 2], [0, 0, 0, 5]);

    // Assess: (1/2 + 0 + 0 + 0) / 4
    expect(macro).toBeCloseTo(0.125, 15);
  });

  it('gives an absent label zeroDivision (default 0)', () => {
    // Act: label 3 is in neither array; sklearn gives 0.29166666666666663 with zero_division=0
    const zero = macroF1([0, 1, 2, 2], [0, 0, 0, 2], { labels: [0, 1, 2, 3] });
    const one = macroF1([0, 1, 2, 2], [0, 0, 0, 2], { labels: [0, 1, 2, 3], zeroDivision: 1 });

    // Assess
    expect(zero).toBeCloseTo(0.29166666666666663, 15);
    expect(one).toBeCloseTo((0.5 + 0 + 2 / 3 + 1) / 4, 15);
  });

  it('is 1 for perfect predictions and 0 when every prediction is wrong', () => {
    expect(macroF1([0, 1, 2, 1], [0, 1, 2, 1])).toBe(1);
    expect(macroF1([0, 0, 1, 1], [1, 1, 0, 0])).toBe(0);
  });

  it('checks its options', () => {
    expect(() => macroF1([0], [0], { zeroDivision: 2 })).toThrow(/zeroDivision/);
    expect(() => macroF1([0], [0], { labels: [1, 1] })).toThrow(/repeat/);
    expect(() => macroF1([0], [0], { labels: [] })).toThrow(/empty/);
  });
});
