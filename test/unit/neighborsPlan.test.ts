import { describe, expect, it } from 'vitest';
import { APPROX_FROM_ROWS, FAST_KERNEL_FROM_ROWS, planNeighbors } from '../../lib/pipeline/neighbors/neighborsPlan.ts';

describe('planNeighbors', () => {
  it.each([
    { n: 1_000, mode: 'exact', kernel: 'direct' },
    { n: FAST_KERNEL_FROM_ROWS - 1, mode: 'exact', kernel: 'direct' },
    { n: FAST_KERNEL_FROM_ROWS, mode: 'exact', kernel: 'wasm' },
    { n: APPROX_FROM_ROWS - 1, mode: 'exact', kernel: 'wasm' },
    { n: APPROX_FROM_ROWS, mode: 'approx', kernel: 'wasm' },
    { n: 1_000_000, mode: 'approx', kernel: 'wasm' },
  ])('without --neighbors-mode, $n rows: $mode search ($kernel kernel for exact)', ({ n, mode, kernel }) => {
    // Act
    const plan = planNeighbors({}, n);
    // Assess
    expect(plan.mode).toBe(mode);
    expect(plan.kernel).toBe(kernel);
    expect(plan.reason).toContain(`${n} rows`);
  });

  it.each([
    { neighborsMode: 'exact', n: 1_000_000 },
    { neighborsMode: 'approx', n: 100 },
  ] as const)('--neighbors-mode $neighborsMode wins over the size rule at $n rows', ({ neighborsMode, n }) => {
    // Act
    const plan = planNeighbors({ neighborsMode }, n);
    // Assess
    expect(plan.mode).toBe(neighborsMode);
    expect(plan.reason).toBe(`--neighbors-mode ${neighborsMode}`);
  });
});
