import { describe, expect, it } from 'vitest';
import { UNLABELLED } from '../../lib/data/dataset.ts';
import { argmaxRow } from '../../lib/linalg/argmaxRow.ts';
import { outcomeFromRounds, SOURCE } from '../../lib/pipeline/outputs/rowOutcome.ts';

/** The project's one argmax: the largest value of a row, the first on ties, and a NaN never wins. */
describe('argmaxRow', () => {
  it('gives the index of the largest value of the asked row, the first on ties (numpy.argmax)', () => {
    // Prepare: 3 rows x 4 columns
    const matrix = Float64Array.from([0.1, 0.4, 0.3, 0.2, 0.5, 0.1, 0.5, 0.2, -3, -1, -2, -1]);
    // Act
    const picks = [0, 1, 2].map((row) => argmaxRow(matrix, row, 4));
    // Assess
    expect(picks).toEqual([1, 0, 1]);
  });

  it('never picks a NaN, wherever it stands in the row', () => {
    // Prepare: 3 rows x 3 columns, a NaN first, in the middle and last
    const matrix = Float64Array.from([NaN, 0.2, 0.7, 0.1, NaN, 0.3, 0.6, 0.1, NaN]);
    // Act
    const picks = [0, 1, 2].map((row) => argmaxRow(matrix, row, 3));
    // Assess
    expect(picks).toEqual([2, 2, 0]);
  });

  it('gives 0 for a row that is all NaN, and handles -Infinity like any number', () => {
    // Act
    const allNaN = argmaxRow(Float64Array.from([NaN, NaN, NaN]), 0, 3);
    const infinite = argmaxRow(Float64Array.from([NaN, -Infinity, -Infinity]), 0, 3);
    // Assess
    expect([allNaN, infinite]).toEqual([0, 1]);
  });
});

describe('outcomeFromRounds uses the same argmax', () => {
  it('does not give an unlabelled row the class of a NaN probability', () => {
    // Prepare: one unlabelled row whose model probabilities hold a NaN before the largest real one
    const y = Int32Array.from([UNLABELLED]);
    const probabilities = Float64Array.from([NaN, 0.3, 0.6]);
    // Act
    const outcome = outcomeFromRounds(y, Int32Array.from([0]), Int32Array.from([UNLABELLED]), probabilities, 3);
    // Assess
    expect(outcome.label[0]).toBe(2);
    expect(outcome.source[0]).toBe(SOURCE.none);
    expect(outcome.confidence[0]).toBe(0.6);
  });
});
