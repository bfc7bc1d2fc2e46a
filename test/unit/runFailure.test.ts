import { describe, expect, it } from 'vitest';
import { NoLabelledSamplesError, TooFewClassesError } from '../../lib/algorithms/errors.ts';
import { InputFileError } from '../../lib/data/errors.ts';
import { fromRows } from '../../lib/data/featureMatrix.ts';
import { CapacityError, InputError, OptionsError } from '../../lib/errors.ts';
import { DenseKernelTooLargeError } from '../../lib/graph/errors.ts';
import { UnusableLabelsError } from '../../lib/pipeline/errors.ts';
import { isRunFailure } from '../../lib/pipeline/executeTask.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { coTrain } from '../../lib/pipeline/training/methods.ts';

/** The engine's own RangeError, as a real bug would raise it. */
function stackOverflow(): unknown {
  const recurse = (depth: number): number => recurse(depth + 1) + 1;
  try {
    recurse(0);
  } catch (error) {
    return error;
  }
  throw new Error('expected the recursion to overflow the stack');
}

describe('isRunFailure: only the own error classes fail a run for good', () => {
  it('takes an engine RangeError ("Maximum call stack size exceeded") for a fault to retry', () => {
    // Prepare
    const error = stackOverflow();

    // Act
    const failure = isRunFailure(error);

    // Assess
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/call stack/);
    expect(failure).toBe(false);
  });

  it('takes any other built-in error (RangeError, TypeError, Error) for a fault to retry', () => {
    // Prepare
    const errors = [new RangeError('Invalid typed array length: -1'), new TypeError('x is undefined'), new Error('io')];

    // Act
    const failures = errors.map(isRunFailure);

    // Assess
    expect(failures).toEqual([false, false, false]);
  });

  it('takes each own class, and the area errors that extend them, for a run failure', () => {
    // Prepare
    const errors = [
      new InputError('bad input'),
      new OptionsError('bad option'),
      new CapacityError('too large'),
      new InputFileError('data.csv', 'no header row'),
      new UnusableLabelsError('data.csv', 'no row has a label'),
      new TooFewClassesError(1),
      new NoLabelledSamplesError(),
      new DenseKernelTooLargeError(100_000, 8e10, 20_000, 2 ** 31),
    ];

    // Act
    const failures = errors.map(isRunFailure);

    // Assess
    expect(failures).toEqual(errors.map(() => true));
  });

  it('parseRunOptions refuses invalid options with an OptionsError', () => {
    // Act
    const attempt = () => parseRunOptions({ alpha: 2 });

    // Assess
    expect(attempt).toThrow(OptionsError);
    expect(attempt).toThrow(/--alpha/);
  });

  it('co-training over a single feature column is refused with an OptionsError naming the method', () => {
    // Prepare
    const X = fromRows([[0], [1], [2], [3]]);
    const y = Int32Array.from([0, 1, -1, -1]);

    // Act
    const attempt = () => coTrain(X, y, 2, parseRunOptions({ method: 'co-training' }), () => {});

    // Assess
    expect(attempt).toThrow(OptionsError);
    expect(attempt).toThrow(/co-training .* needs at least 2/);
  });
});
