import { describe, expect, it } from 'vitest';
import { UNLABELLED } from '../../lib/data/dataset.ts';
import { featureMatrix } from '../../lib/data/featureMatrix.ts';
import { emptyKnnResult, knnSelfSearch } from '../../lib/graph/knnSearch.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';
import { CANDIDATES, chooseMethod, neighborScaleGamma, stratifiedFolds } from '../../lib/pipeline/chooseMethod.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';

function foldSizes(y: Int32Array, fold: Int32Array, c: number, folds: number): number[] {
  const sizes = new Array<number>(folds).fill(0);
  for (let i = 0; i < y.length; i++) if (y[i] === c) sizes[fold[i]]++;
  return sizes;
}

/** Two tight, far apart 2-d clusters of `perCluster` points; `labelled` of each cluster carry their class. */
function clusters(perCluster: number, labelled: number) {
  const random = seededUniform(5);
  const n = 2 * perCluster;
  const data = new Float64Array(n * 2);
  const y = new Int32Array(n).fill(UNLABELLED);
  for (let i = 0; i < n; i++) {
    const c = i < perCluster ? 0 : 1;
    data[i * 2] = (c === 0 ? -10 : 10) + random();
    data[i * 2 + 1] = random();
    if (i % perCluster < labelled) y[i] = c;
  }
  return { X: featureMatrix(data, n, 2), y };
}

describe('stratifiedFolds', () => {
  it("deals each class's rows round-robin: fold sizes per class differ by at most one", () => {
    // Prepare: class 0 x7, class 1 x6, unlabelled x3
    const y = Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, UNLABELLED, UNLABELLED, UNLABELLED]);

    // Act
    const fold = stratifiedFolds(y, 3, 0);

    // Assess
    expect(foldSizes(y, fold, 0, 3)).toEqual([3, 2, 2]);
    expect(foldSizes(y, fold, 1, 3)).toEqual([2, 2, 2]);
    expect(Array.from(fold.subarray(13))).toEqual([-1, -1, -1]);
  });

  it('leaves a class with fewer labels than folds out of every fold', () => {
    // Prepare: class 0 x3, class 1 x2 (fewer than 3 folds)
    const y = Int32Array.from([0, 0, 0, 1, 1]);

    // Act
    const fold = stratifiedFolds(y, 3, 0);

    // Assess
    expect([...fold.subarray(0, 3)].sort()).toEqual([0, 1, 2]);
    expect(Array.from(fold.subarray(3))).toEqual([-1, -1]);
  });

  it('is deterministic per seed and shuffles with the seed', () => {
    // Prepare
    const y = Int32Array.from({ length: 60 }, (_, i) => i % 3);

    // Act
    const a = stratifiedFolds(y, 3, 9);
    const b = stratifiedFolds(y, 3, 9);
    const c = stratifiedFolds(y, 3, 10);

    // Assess
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
    for (let k = 0; k < 3; k++) expect(foldSizes(y, c, k, 3)).toEqual([7, 7, 6]);
  });
});

describe('neighborScaleGamma', () => {
  it("is 1 / the mean squared distance to each row's k-th neighbour", () => {
    // Prepare: squared distances to the 2nd neighbour are 2 and 6 (mean 4)
    const lists = emptyKnnResult(2, 2);
    lists.distances.set([0, 2, 0, 6]);

    // Act
    const gamma = neighborScaleGamma(lists);

    // Assess
    expect(gamma).toBe(0.25);
  });

  it('skips rows whose k-th slot is empty (+Infinity)', () => {
    // Prepare
    const lists = emptyKnnResult(3, 2);
    lists.distances.set([0, 0.5, 0, Number.POSITIVE_INFINITY, 0, 1.5]);

    // Act
    const gamma = neighborScaleGamma(lists);

    // Assess
    expect(gamma).toBe(1);
  });

  it('falls back to 1 when every distance is zero or there are no rows', () => {
    // Prepare
    const duplicates = emptyKnnResult(2, 2);
    duplicates.distances.fill(0);

    // Act + Assess
    expect(neighborScaleGamma(duplicates)).toBe(1);
    expect(neighborScaleGamma(emptyKnnResult(0, 3))).toBe(1);
  });

  it('scales inversely with the features: doubling them quarters gamma', () => {
    // Prepare
    const { X } = clusters(10, 0);
    const doubled = featureMatrix(
      X.data.map((v) => v * 2),
      X.n,
      X.d,
    );

    // Act
    const gamma = neighborScaleGamma(knnSelfSearch(X, 5));
    const gammaDoubled = neighborScaleGamma(knnSelfSearch(doubled, 5));

    // Assess
    expect(gammaDoubled).toBeCloseTo(gamma / 4, 10);
  });
});

describe('chooseMethod', () => {
  it('on two clearly separated clusters picks a graph method, scoring every candidate in [0, 1]', () => {
    // Prepare
    const { X, y } = clusters(30, 9);
    const lists = knnSelfSearch(X, 7);
    const options = parseRunOptions({ method: 'auto', neighbors: 7 });

    // Act
    const choice = chooseMethod(X, y, 2, lists, options);

    // Assess
    expect(['label-spreading', 'label-propagation']).toContain(choice.method);
    expect(choice.scores).toHaveLength(CANDIDATES.length);
    for (const score of choice.scores) {
      expect(score).not.toBeNull();
      expect(score!).toBeGreaterThanOrEqual(0);
      expect(score!).toBeLessThanOrEqual(1);
    }
    expect(choice.scores[0]).toBe(1);
    expect(choice.method).toBe('label-spreading');
    expect(choice.kernel).toBe('knn');
    expect(choice.gamma).toBe(neighborScaleGamma(lists));
    expect(choice.reason).toMatch(/^best 3-fold cross-validated accuracy on 18 given labels: /);
    expect(choice.reason).toContain('label-spreading (knn) 100.0%');
  });

  it('gives the same choice for the same seed', () => {
    // Prepare
    const { X, y } = clusters(20, 6);
    const lists = knnSelfSearch(X, 5);
    const options = parseRunOptions({ method: 'auto', seed: 3 });

    // Act
    const first = chooseMethod(X, y, 2, lists, options);
    const second = chooseMethod(X, y, 2, lists, options);

    // Assess
    expect(second).toEqual(first);
  });

  it('with too few labels to cross-validate falls back to label spreading and says why', () => {
    // Prepare: 2 labels per class (fewer than 3 folds): nothing can be validated
    const { X, y } = clusters(10, 2);
    const lists = knnSelfSearch(X, 5);

    // Act
    const choice = chooseMethod(X, y, 2, lists, parseRunOptions({ method: 'auto' }));

    // Assess
    expect(choice.method).toBe('label-spreading');
    expect(choice.kernel).toBe('knn');
    expect(choice.scores).toEqual([null, null, null, null]);
    expect(choice.reason).toBe(
      'too few given labels for 3-fold cross-validation (0 usable): label spreading, the default',
    );
  });

  it('counts only classes with enough labels as usable', () => {
    // Prepare: class 0 has 3 labels (usable), class 1 has 2: 3 usable < 6
    const { X, y } = clusters(10, 3);
    y[12] = UNLABELLED;

    // Act
    const choice = chooseMethod(X, y, 2, knnSelfSearch(X, 5), parseRunOptions({ method: 'auto' }));

    // Assess
    expect(choice.reason).toContain('(3 usable)');
    expect(choice.method).toBe('label-spreading');
  });
});
