import { describe, expect, it } from 'vitest';
import { UNLABELLED } from '../../lib/data/dataset.ts';
import {
  emptyOutcome,
  outcomeFromDistributions,
  outcomeFromRounds,
  probabilitiesOverAllClasses,
  SOURCE,
} from '../../lib/pipeline/outputs/rowOutcome.ts';

describe('emptyOutcome', () => {
  it('gives every row no label, confidence 0, source none and round -1', () => {
    // Act
    const outcome = emptyOutcome(3);

    // Assess
    expect(Array.from(outcome.label)).toEqual([UNLABELLED, UNLABELLED, UNLABELLED]);
    expect(Array.from(outcome.confidence)).toEqual([0, 0, 0]);
    expect(Array.from(outcome.source)).toEqual([SOURCE.none, SOURCE.none, SOURCE.none]);
    expect(Array.from(outcome.round)).toEqual([-1, -1, -1]);
  });
});

describe('outcomeFromDistributions', () => {
  it('keeps given labels, propagates the argmax to reached rows and leaves unreached rows unlabelled', () => {
    // Prepare: row 0 given class 1, row 1 reached (class 2 wins), row 2 all zero (unreached)
    const y = Int32Array.from([1, UNLABELLED, UNLABELLED]);
    const distributions = Float64Array.from([0.1, 0.8, 0.1, 0.2, 0.3, 0.5, 0, 0, 0]);

    // Act
    const outcome = outcomeFromDistributions(y, distributions, 3);

    // Assess
    expect(Array.from(outcome.label)).toEqual([1, 2, UNLABELLED]);
    expect(Array.from(outcome.confidence)).toEqual([0.8, 0.5, 0]);
    expect(Array.from(outcome.source)).toEqual([SOURCE.given, SOURCE.propagated, SOURCE.none]);
    expect(Array.from(outcome.round)).toEqual([0, 0, -1]);
  });

  it("reports a given row's confidence for its own class even when another class is larger", () => {
    // Prepare
    const y = Int32Array.from([0]);
    const distributions = Float64Array.from([0.3, 0.7]);

    // Act
    const outcome = outcomeFromDistributions(y, distributions, 2);

    // Assess
    expect(outcome.label[0]).toBe(0);
    expect(outcome.confidence[0]).toBe(0.3);
    expect(outcome.source[0]).toBe(SOURCE.given);
  });

  it('breaks ties towards the lower class index', () => {
    // Prepare
    const y = Int32Array.from([UNLABELLED]);
    const distributions = Float64Array.from([0.25, 0.375, 0.375]);

    // Act
    const outcome = outcomeFromDistributions(y, distributions, 3);

    // Assess
    expect(outcome.label[0]).toBe(1);
    expect(outcome.confidence[0]).toBe(0.375);
  });

  it('an all-zero row is none even though class 0 is its argmax (unlike scikit-learn)', () => {
    // Prepare
    const y = Int32Array.from([UNLABELLED, UNLABELLED]);
    const distributions = new Float64Array(4);

    // Act
    const outcome = outcomeFromDistributions(y, distributions, 2);

    // Assess
    expect(Array.from(outcome.label)).toEqual([UNLABELLED, UNLABELLED]);
    expect(Array.from(outcome.source)).toEqual([SOURCE.none, SOURCE.none]);
    expect(Array.from(outcome.round)).toEqual([-1, -1]);
  });

  it('handles no rows', () => {
    // Act
    const outcome = outcomeFromDistributions(new Int32Array(0), new Float64Array(0), 2);

    // Assess
    expect(outcome.label.length).toBe(0);
    expect(outcome.source.length).toBe(0);
  });
});

describe('outcomeFromRounds', () => {
  it('given rows stay given, rows added in round r are pseudo of round r, the rest is none with the model class', () => {
    // Prepare
    const y = Int32Array.from([0, UNLABELLED, UNLABELLED, UNLABELLED]);
    const labeledIter = Int32Array.from([0, 2, 1, 0]);
    const pseudoLabels = Int32Array.from([-1, 1, 0, -1]);
    const probabilities = Float64Array.from([0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.45, 0.55]);

    // Act
    const outcome = outcomeFromRounds(y, labeledIter, pseudoLabels, probabilities, 2);

    // Assess
    expect(Array.from(outcome.label)).toEqual([0, 1, 0, 1]);
    expect(Array.from(outcome.source)).toEqual([SOURCE.given, SOURCE.pseudo, SOURCE.pseudo, SOURCE.none]);
    expect(Array.from(outcome.round)).toEqual([0, 2, 1, -1]);
    expect(Array.from(outcome.confidence)).toEqual([0.9, 0.8, 0.6, 0.55]);
  });

  it("a pseudo label's confidence is the final model's probability of that label, not of the argmax", () => {
    // Prepare
    const y = Int32Array.from([UNLABELLED]);
    const labeledIter = Int32Array.from([1]);
    const pseudoLabels = Int32Array.from([0]);
    const probabilities = Float64Array.from([0.25, 0.75]);

    // Act
    const outcome = outcomeFromRounds(y, labeledIter, pseudoLabels, probabilities, 2);

    // Assess
    expect(outcome.label[0]).toBe(0);
    expect(outcome.confidence[0]).toBe(0.25);
    expect(outcome.source[0]).toBe(SOURCE.pseudo);
  });
});

describe('probabilitiesOverAllClasses', () => {
  it("spreads a model's columns onto the classes it saw and leaves the others at zero", () => {
    // Prepare: 2 rows, the model saw classes 0 and 2 out of 4
    const proba = Float64Array.from([0.3, 0.7, 0.9, 0.1]);
    const modelClasses = Int32Array.from([0, 2]);

    // Act
    const full = probabilitiesOverAllClasses(proba, modelClasses, 4);

    // Assess
    expect(Array.from(full)).toEqual([0.3, 0, 0.7, 0, 0.9, 0, 0.1, 0]);
  });

  it('is the identity when the model saw every class in order', () => {
    // Prepare
    const proba = Float64Array.from([0.2, 0.8, 0.6, 0.4]);

    // Act
    const full = probabilitiesOverAllClasses(proba, Int32Array.from([0, 1]), 2);

    // Assess
    expect(Array.from(full)).toEqual([0.2, 0.8, 0.6, 0.4]);
  });
});
