import { afterEach, describe, expect, it } from 'vitest';
import {
  FAN_OUT_FROM_ROWS,
  FAN_OUT_FROM_ROWS_ENV,
  fansOutPropagation,
  singleProcessBytes,
} from '../../lib/pipeline/propagationFanOut.ts';
import { parseRunOptions, type RunOptionsInput } from '../../lib/pipeline/runOptions.ts';

afterEach(() => {
  delete process.env[FAN_OUT_FROM_ROWS_ENV];
});

describe('fansOutPropagation', () => {
  it('fans out kNN-graph propagation from FAN_OUT_FROM_ROWS rows, not below', () => {
    // Prepare
    const options = parseRunOptions({ method: 'label-propagation', kernel: 'knn-rbf', gamma: 2 });
    // Act
    const below = fansOutPropagation(options, FAN_OUT_FROM_ROWS - 1, 3);
    const from = fansOutPropagation(options, FAN_OUT_FROM_ROWS, 3);
    // Assess
    expect([below, from]).toEqual([false, true]);
  });

  it.each<[string, RunOptionsInput]>([
    ['dense rbf', { kernel: 'rbf' }],
    ['a holdout', { holdout: 0.2 }],
    ['--method auto', { method: 'auto' }],
    ['co-training', { method: 'co-training' }],
    ['self-training', { method: 'self-training' }],
    ['knn-rbf with --gamma auto', { kernel: 'knn-rbf', gamma: 'auto' }],
  ])('keeps %s in one process, even when a test forces the fan-out', (_name, input) => {
    // Prepare
    process.env[FAN_OUT_FROM_ROWS_ENV] = '0';
    // Act
    const fansOut = fansOutPropagation(parseRunOptions(input), 10 * FAN_OUT_FROM_ROWS, 3);
    // Assess
    expect(fansOut).toBe(false);
  });

  it('fans out sooner when the single-process step would not fit --task-memory', () => {
    // Prepare
    const options = parseRunOptions({ neighbors: 10, taskMemory: 512 });
    const fits = Math.floor((448 * 2 ** 20) / singleProcessBytes(1, 10, 10));
    // Act
    const decisions = [fits - 1000, fits + 1000].map((n) => fansOutPropagation(options, n, 10));
    const without = fansOutPropagation(parseRunOptions({ neighbors: 10 }), fits + 1000, 10);
    // Assess
    expect(decisions).toEqual([false, true]);
    expect(without).toBe(false);
  });

  it('the test override replaces the threshold', () => {
    // Prepare
    process.env[FAN_OUT_FROM_ROWS_ENV] = '100';
    // Act
    const decisions = [99, 100].map((n) => fansOutPropagation(parseRunOptions({}), n, 3));
    // Assess
    expect(decisions).toEqual([false, true]);
  });
});
