import { describe, expect, it } from 'vitest';
import { embeddedHost, lambdaHost } from '../../lib/pipeline/capacity.ts';
import {
  DEFAULT_TASK_MEMORY_MB,
  FAN_OUT_FROM_ROWS_ENV,
  fansOutPropagation,
  SINGLE_PROCESS_SHARE,
  singleProcessBytes,
} from '../../lib/pipeline/propagation/propagationFanOut.ts';
import { parseRunOptions, type RunOptionsInput } from '../../lib/pipeline/runOptions.ts';

const MB = 2 ** 20;

/** The most rows the single-process step may take with a task of `memoryMb` (k = 10, 10 classes). */
function rowsFitting(memoryMb: number): number {
  return Math.floor((SINGLE_PROCESS_SHARE * memoryMb * MB - 64 * MB) / singleProcessBytes(1, 10, 10));
}

describe('fansOutPropagation', () => {
  it('fans out once the single-process step would need more than its share of the default task memory', () => {
    // Prepare
    const options = parseRunOptions({ method: 'label-propagation', kernel: 'knn-rbf', gamma: 2, neighbors: 10 });
    const fits = rowsFitting(DEFAULT_TASK_MEMORY_MB);
    // Act
    const decisions = [fits, fits + 1].map((n) => fansOutPropagation(options, n, 10, {}));
    // Assess
    expect(decisions).toEqual([false, true]);
    expect(fits).toBeGreaterThan(1_900_000);
    expect(fits).toBeLessThan(2_100_000);
  });

  it('the memory is --task-memory, else the Lambda size, else the default', () => {
    // Prepare
    const n = rowsFitting(1024) + 1;
    const withTaskMemory = parseRunOptions({ neighbors: 10, taskMemory: 1024 });
    const withoutTaskMemory = parseRunOptions({ neighbors: 10 });
    // Act
    const decisions = [
      fansOutPropagation(withTaskMemory, n, 10, {}),
      fansOutPropagation(withoutTaskMemory, n, 10, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' }),
      fansOutPropagation(withoutTaskMemory, n, 10, {}),
      fansOutPropagation(withTaskMemory, n - 1, 10, {}),
    ];
    // Assess
    expect(decisions).toEqual([true, true, false, false]);
  });

  it("the embedded runner without --task-memory plans with the machine's memory, not a Lambda's", () => {
    // Prepare
    const machine = embeddedHost(undefined, 24 * 1024 * MB);
    const limited = embeddedHost(1024, 24 * 1024 * MB);
    const options = parseRunOptions({ neighbors: 10 });
    const withTaskMemory = parseRunOptions({ neighbors: 10, taskMemory: 1024 });
    // Act
    const decisions = [
      fansOutPropagation(options, rowsFitting(DEFAULT_TASK_MEMORY_MB) + 1, 10, {}, machine),
      fansOutPropagation(options, rowsFitting(24 * 1024), 10, {}, machine),
      fansOutPropagation(options, rowsFitting(24 * 1024) + 1, 10, {}, machine),
      fansOutPropagation(withTaskMemory, rowsFitting(1024) + 1, 10, {}, limited),
      fansOutPropagation(options, rowsFitting(DEFAULT_TASK_MEMORY_MB) + 1, 10, {}, lambdaHost(3008, 3008)),
    ];
    // Assess
    expect(decisions).toEqual([false, false, true, true, true]);
  });

  it('more neighbours or classes fan out sooner', () => {
    // Prepare
    const n = rowsFitting(DEFAULT_TASK_MEMORY_MB);
    // Act
    const decisions = [
      fansOutPropagation(parseRunOptions({ neighbors: 10 }), n, 10, {}),
      fansOutPropagation(parseRunOptions({ neighbors: 30 }), n, 10, {}),
      fansOutPropagation(parseRunOptions({ neighbors: 10 }), n, 100, {}),
    ];
    // Assess
    expect(decisions).toEqual([false, true, true]);
  });

  it.each<[string, RunOptionsInput]>([
    ['dense rbf', { kernel: 'rbf' }],
    ['--method auto', { method: 'auto' }],
    ['co-training', { method: 'co-training' }],
    ['self-training', { method: 'self-training' }],
  ])('keeps %s in one process, even when a test forces the fan-out', (_name, input) => {
    // Prepare
    const env = { [FAN_OUT_FROM_ROWS_ENV]: '0' };
    // Act
    const fansOut = fansOutPropagation(parseRunOptions(input), 100_000_000, 3, env);
    // Assess
    expect(fansOut).toBe(false);
  });

  it('the test override replaces the memory rule', () => {
    // Prepare
    const env = { [FAN_OUT_FROM_ROWS_ENV]: '100' };
    // Act
    const decisions = [99, 100, 10_000_000].map((n) => fansOutPropagation(parseRunOptions({}), n, 3, env));
    // Assess
    expect(decisions).toEqual([false, true, true]);
  });
});
