import { describe, expect, it } from 'vitest';
import type { KnnResult } from '../../lib/graph/knnSearch.ts';
import { emptyOutcome, SOURCE } from '../../lib/pipeline/outputs/rowOutcome.ts';
import {
  countUnreached,
  gammaWarning,
  medianHeuristicGamma,
  unreachedHint,
  usesGamma,
} from '../../lib/pipeline/propagation/unreached.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';

function lists(kth: number[], k = 2): KnnResult {
  const distances = new Float64Array(kth.length * k);
  kth.forEach((d, i) => {
    distances[i * k + k - 1] = d;
  });
  return { n: kth.length, k, indices: new Int32Array(kth.length * k), distances };
}

describe('medianHeuristicGamma', () => {
  it('is 1 / the median squared distance to the k-th list entry', () => {
    // Act / Assess
    expect(medianHeuristicGamma(lists([4, 1, 9]))).toBe(1 / 4);
    expect(medianHeuristicGamma(lists([4, 1, 9, 16]))).toBe(1 / 6.5);
  });

  it('leaves out zero distances (duplicate rows), and falls back to 1 when none is left', () => {
    // Act / Assess
    expect(medianHeuristicGamma(lists([0, 0, 2]))).toBe(1 / 2);
    expect(medianHeuristicGamma(lists([0, 0]))).toBe(1);
  });
});

describe('unreached rows', () => {
  it('counts the rows of source none', () => {
    // Prepare
    const outcome = emptyOutcome(4);
    outcome.source[0] = SOURCE.given;
    outcome.source[1] = SOURCE.propagated;
    // Act / Assess
    expect(countUnreached(outcome)).toBe(2);
  });

  it('suggests what may reach them, by kernel', () => {
    // Act / Assess
    expect(unreachedHint(parseRunOptions({ kernel: 'knn' }))).toBe('try --neighbors 20');
    expect(unreachedHint(parseRunOptions({ kernel: 'knn-rbf', neighbors: 7 }))).toBe(
      'try --gamma auto or --neighbors 14',
    );
    expect(unreachedHint(parseRunOptions({ kernel: 'rbf' }))).toBe('try --gamma auto or --kernel knn-rbf');
  });

  it('warns when a fixed gamma leaves more than 10% unreached, naming --gamma auto', () => {
    // Act / Assess
    expect(gammaWarning({ gamma: 20 }, 11, 100)).toContain('--gamma auto');
    expect(gammaWarning({ gamma: 20 }, 10, 100)).toBeUndefined();
    expect(gammaWarning({ gamma: 'auto' }, 90, 100)).toBeUndefined();
  });

  it('knows which methods have a gamma', () => {
    // Act / Assess
    expect(usesGamma({ method: 'label-spreading', kernel: 'rbf' })).toBe(true);
    expect(usesGamma({ method: 'label-propagation', kernel: 'knn-rbf' })).toBe(true);
    expect(usesGamma({ method: 'label-spreading', kernel: 'knn' })).toBe(false);
    expect(usesGamma({ method: 'self-training', kernel: 'rbf' })).toBe(false);
  });
});
