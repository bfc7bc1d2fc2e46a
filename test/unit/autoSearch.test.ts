import { describe, expect, it } from 'vitest';
import { UNLABELLED } from '../../lib/data/dataset.ts';
import { featureMatrix } from '../../lib/data/featureMatrix.ts';
import type { FeatureScaling } from '../../lib/data/featureScaling.ts';
import { knnSelfSearch } from '../../lib/graph/knnSearch.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';
import {
  type AutoCandidate,
  agreementWithConsensus,
  autoGrid,
  brierScore,
  chooseCandidate,
  compareCandidates,
  describeChoice,
  labelsFromProbabilities,
  pairedDifference,
  predictorsFor,
  repeatsFor,
  searchGrid,
  tiesWithBest,
  topTied,
  truncateLists,
} from '../../lib/pipeline/modelSelection/autoSearch.ts';
import { stratifiedFolds } from '../../lib/pipeline/modelSelection/stratifiedFolds.ts';
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

/** Standardising statistics of X (population std), as collect computes them. */
function standardOf(X: { data: Float64Array | Float32Array; n: number; d: number }): FeatureScaling {
  const center: number[] = [];
  const scale: number[] = [];
  for (let j = 0; j < X.d; j++) {
    let sum = 0;
    for (let i = 0; i < X.n; i++) sum += X.data[i * X.d + j];
    const mean = sum / X.n;
    let m2 = 0;
    for (let i = 0; i < X.n; i++) m2 += (X.data[i * X.d + j] - mean) ** 2;
    center.push(mean);
    scale.push(Math.sqrt(m2 / X.n) || 1);
  }
  return { method: 'standard', center, scale, spreadRatio: 1 };
}

describe('the auto grid', () => {
  it('is method x scale (none, standard) x k (5, 10, 20) x alpha (0.2, 0.8) for spreading', () => {
    // Act
    const grid = autoGrid(false);
    const withViews = autoGrid(true);
    // Assess: per scale 6 spreading + 3 propagation + self-training
    expect(grid).toHaveLength(20);
    expect(grid.filter((s) => s.method === 'label-spreading' && s.scale === 'standard')).toHaveLength(6);
    expect(new Set(grid.map((s) => s.neighbors))).toEqual(new Set([5, 10, 20, undefined]));
    expect(withViews.filter((s) => s.method === 'co-training')).toHaveLength(2);
  });

  it('repeats the 3-fold split more when labels are few', () => {
    // Act / Assess
    expect(repeatsFor(15)).toBe(10);
    expect(repeatsFor(50)).toBe(6);
    expect(repeatsFor(1000)).toBe(2);
  });

  it('truncates k = 20 lists to the first k entries of each row', () => {
    // Prepare
    const { X } = clusters(15, 0);
    // Act
    const truncated = truncateLists(knnSelfSearch(X, 20), 5);
    const direct = knnSelfSearch(X, 5);
    // Assess
    expect(Array.from(truncated.indices)).toEqual(Array.from(direct.indices));
    expect(Array.from(truncated.distances)).toEqual(Array.from(direct.distances));
  });
});

describe('compareCandidates', () => {
  const base: AutoCandidate = {
    method: 'label-spreading',
    scale: 'standard',
    neighbors: 10,
    alpha: 0.2,
    score: 0.9,
    spread: 0.02,
    brier: 0.2,
    agreement: 0.9,
  };

  it('ranks by Brier score, then mean accuracy, then the smaller spread, then the simpler setting, in any order', () => {
    // Prepare: `sharper` has the lower accuracy but the better (lower) Brier score
    const sharper = { ...base, brier: 0.1, score: 0.85 };
    const better = { ...base, score: 0.95, spread: 0.1 };
    const steadier = { ...base, spread: 0.01, method: 'self-training' as const };
    const simpler = { ...base, method: 'label-propagation' as const, alpha: undefined };
    const unscaled = { ...base, scale: 'none' as const };
    const smoother = { ...base, neighbors: 20 };
    // Act
    const ranked = [base, smoother, unscaled, simpler, steadier, better, sharper].sort(compareCandidates);
    const reversed = [sharper, better, steadier, simpler, unscaled, smoother, base].sort(compareCandidates);
    // Assess
    expect(ranked).toEqual([sharper, better, steadier, simpler, unscaled, smoother, base]);
    expect(reversed).toEqual(ranked);
  });

  it('takes scores equal up to rounding as a tie, decided by the spread', () => {
    // Prepare: the same sums in another order
    const first = { ...base, brier: 0.30000000000000004, score: 0.9133333333333334, spread: 0.04 };
    const second = {
      ...base,
      method: 'label-propagation' as const,
      brier: 0.3,
      score: 0.9133333333333333,
      spread: 0.03,
    };
    // Act
    const ranked = [first, second].sort(compareCandidates);
    // Assess
    expect(ranked).toEqual([second, first]);
  });
});

describe('chooseCandidate (a paired margin over the fallback)', () => {
  const fallback: AutoCandidate = {
    method: 'self-training',
    scale: 'standard',
    score: 0.8,
    spread: 0.02,
    brier: 0.3,
    agreement: 0.9,
    versusBest: { difference: -0.1, standardError: 0.04 },
  };
  const graph: AutoCandidate = {
    method: 'label-spreading',
    scale: 'none',
    neighbors: 10,
    alpha: 0.2,
    score: 0.9,
    spread: 0.01,
    brier: 0.2,
    agreement: 0.8,
    versusFallback: { difference: 0.1, standardError: 0.04 },
  };

  it('takes the best score when it beats self-training (standardised) by more than two paired standard errors', () => {
    // Act / Assess: 0.1 > 2 x 0.04
    expect(chooseCandidate([graph, fallback])).toBe(graph);
  });

  it('keeps the fallback when the paired difference is within two standard errors', () => {
    // Prepare: the same mean scores, a noisier difference
    const noisy = { ...graph, versusFallback: { difference: 0.1, standardError: 0.06 } };
    // Act / Assess
    expect(chooseCandidate([noisy, fallback])).toBe(fallback);
  });

  it('takes the best when the fallback is the best or absent', () => {
    // Act / Assess
    expect(chooseCandidate([{ ...fallback, versusBest: undefined }, graph]).method).toBe('self-training');
    expect(chooseCandidate([graph])).toBe(graph);
  });
});

describe('chooseCandidate (ties at the top go to the setting agreeing most with the others)', () => {
  const best: AutoCandidate = {
    method: 'label-spreading',
    scale: 'none',
    neighbors: 5,
    alpha: 0.2,
    score: 1,
    spread: 0,
    brier: 0.05,
    agreement: 0.91,
    versusFallback: { difference: 0.2, standardError: 0.05 },
  };
  const fallback: AutoCandidate = {
    method: 'self-training',
    scale: 'standard',
    score: 0.9,
    spread: 0.02,
    brier: 0.25,
    agreement: 0.99,
    versusBest: { difference: -0.2, standardError: 0.05 },
  };
  /** A candidate behind the best by `behind` Brier with that standard error, agreeing on `agreement` of the rows. */
  const behindBest = (behind: number, standardError: number, agreement: number, neighbors: number): AutoCandidate => ({
    ...best,
    neighbors,
    brier: best.brier + behind,
    agreement,
    versusBest: { difference: -behind, standardError },
    versusFallback: { difference: 0.2 - behind, standardError: 0.05 },
  });

  it('ties a candidate within half a standard error of the best, or within 0.01, and no other', () => {
    // Act / Assess
    expect(tiesWithBest(best)).toBe(true);
    expect(tiesWithBest(behindBest(0.02, 0.05, 0.9, 10))).toBe(true);
    expect(tiesWithBest(behindBest(0.008, 0.001, 0.9, 10))).toBe(true);
    expect(tiesWithBest(behindBest(0.03, 0.05, 0.9, 10))).toBe(false);
    expect(tiesWithBest(behindBest(0.012, 0.001, 0.9, 10))).toBe(false);
  });

  it('takes, of the tied, the one agreeing most with the consensus on the unlabelled rows', () => {
    // Prepare: k = 10 ties and agrees more; k = 20 agrees most but is 1 standard error behind
    const tied = behindBest(0.02, 0.05, 0.95, 10);
    const behind = behindBest(0.05, 0.05, 0.97, 20);
    const candidates = [best, tied, behind, fallback];
    // Act
    const chosen = chooseCandidate(candidates);
    // Assess
    expect(topTied(candidates)).toEqual([tied, best]);
    expect(chosen).toBe(tied);
    expect(
      describeChoice({ folds: 3, repeats: 10, rows: 150, validated: 15, unlabelled: 135, candidates, chosen }),
    ).toBe(
      '2 settings tie with the best Brier score of 4 settings in 10 repeats of stratified 3-fold cross-validation ' +
        'on 15 given labels (150 rows) (within 0.5 standard errors or 0.01 on the same labels); of them ' +
        'label-spreading k=10 alpha=0.2, scale none 100.0% +/- 0.0% (Brier 0.070) agrees with the consensus of the ' +
        'settings on 95.0% of 135 unlabelled rows (next label-spreading k=5 alpha=0.2, scale none: 91.0%)',
    );
  });

  it('keeps the best on equal agreement, and the fallback when the tied pick does not beat it by 2 standard errors', () => {
    // Prepare
    const level = behindBest(0.02, 0.05, 0.91, 10);
    const unsure = { ...behindBest(0.02, 0.05, 0.95, 10), versusFallback: { difference: 0.18, standardError: 0.1 } };
    // Act / Assess
    expect(chooseCandidate([best, level, fallback])).toBe(best);
    expect(chooseCandidate([best, unsure, fallback])).toBe(fallback);
  });
});

describe('agreementWithConsensus', () => {
  it("counts the unlabelled rows where a setting's label is the class of the settings' mean probabilities", () => {
    // Prepare: 4 rows x 2 classes, row 0 labelled (skipped); setting c reaches no label on row 3 (uniform there)
    const y = Int32Array.from([0, UNLABELLED, UNLABELLED, UNLABELLED]);
    const a = Float64Array.from([1, 0, 0.9, 0.1, 0.4, 0.6, 0.3, 0.7]);
    const b = Float64Array.from([1, 0, 0.6, 0.4, 0.8, 0.2, 0.2, 0.8]);
    const c = Float64Array.from([0, 1, 0.2, 1.8, 0.7, 0.3, 0, 0]);
    // Act
    const { agreement, rows } = agreementWithConsensus([a, b, c], y, 2);
    // Assess: mean class-0 probabilities 0.567, 0.633, 0.333 -> consensus 0, 0, 1
    expect(rows).toBe(3);
    expect(agreement).toEqual([2 / 3, 3 / 3, 1 / 3]);
  });

  it('is full agreement when no row is unlabelled', () => {
    // Act / Assess
    expect(agreementWithConsensus([Float64Array.from([1, 0])], Int32Array.from([0]), 2)).toEqual({
      agreement: [1],
      rows: 0,
    });
  });
});

describe('pairedDifference', () => {
  it("is the mean of the per-label differences (the fallback's Brier minus this one's) and their standard error", () => {
    // Prepare: 4 labels, Brier scores summed over 2 repeats; differences (fallback - this) / 2 = 0.5, 0.5, 0, 1
    const brier = Float64Array.from([0, 1, 0, 0]);
    const fallbackBrier = Float64Array.from([1, 2, 0, 2]);
    // Act
    const paired = pairedDifference(brier, fallbackBrier, 2);
    // Assess: mean 0.5, sample variance (0 + 0 + 0.25 + 0.25) / 3
    expect(paired.difference).toBeCloseTo(0.5, 12);
    expect(paired.standardError).toBeCloseTo(Math.sqrt(0.5 / 3 / 4), 12);
  });

  it('has no noise where the two settings score every label alike', () => {
    // Act
    const paired = pairedDifference(Float64Array.from([0.5, 0, 2]), Float64Array.from([0.5, 0, 2]), 3);
    // Assess
    expect(paired).toEqual({ difference: 0, standardError: 0 });
  });
});

describe('brierScore and labelsFromProbabilities', () => {
  it('scores the normalised row against the one-hot truth, and an unreached row as uniform', () => {
    // Prepare: 3 rows x 3 classes; row 1 sums to 2 (label spreading's rows need not sum to 1); row 2 unreached
    const probabilities = Float64Array.from([0.7, 0.2, 0.1, 0.2, 1.6, 0.2, 0, 0, 0]);
    // Act
    const scores = [
      brierScore(probabilities, 0, 3, 0),
      brierScore(probabilities, 1, 3, 0),
      brierScore(probabilities, 2, 3, 2),
    ];
    // Assess: 0.3^2 + 0.2^2 + 0.1^2; (0.1 - 1)^2 + 0.8^2 + 0.1^2; 1 - 1/3
    expect(scores[0]).toBeCloseTo(0.14, 12);
    expect(scores[1]).toBeCloseTo(1.46, 12);
    expect(scores[2]).toBeCloseTo(2 / 3, 12);
  });

  it('takes the most probable class, the first of a tie, and no label where nothing reached the row', () => {
    // Prepare
    const probabilities = Float64Array.from([0.2, 0.5, 0.3, 0.4, 0.4, 0.2, 0, 0, 0]);
    // Act
    const labels = labelsFromProbabilities(probabilities, 3);
    // Assess
    expect(Array.from(labels)).toEqual([1, 0, UNLABELLED]);
  });
});

describe('searchGrid', () => {
  it('scores every setting in [0, 1] and picks a perfect one on two clearly separated clusters', () => {
    // Prepare: feature 1 is noise with a 100x spread, which unscaled kNN follows
    const { X, y } = clusters(30, 6);
    for (let i = 0; i < X.n; i++) X.data[i * 2 + 1] *= 100;
    const options = parseRunOptions({ method: 'auto' });
    // Act
    const search = searchGrid(X, y, 2, standardOf(X), options);
    // Assess
    expect(search).toBeDefined();
    if (!search) return;
    expect(search.candidates).toHaveLength(20);
    for (const c of search.candidates) {
      expect(c.score).toBeGreaterThanOrEqual(0);
      expect(c.score).toBeLessThanOrEqual(1);
      expect(c.spread).toBeGreaterThanOrEqual(0);
    }
    expect(search.candidates[0].score).toBe(1);
    expect(search.repeats).toBe(10);
    const sorted = [...search.candidates].sort(compareCandidates);
    expect(sorted).toEqual(search.candidates);
    // Self-training is right on every label too, but less sure of it: propagation's certainty (Brier 0) beats its
    // Brier score on every label, by more than two paired standard errors.
    expect(search.chosen).toEqual(chooseCandidate(search.candidates));
    expect(search.chosen).toBe(search.candidates[0]);
    expect(search.chosen).toMatchObject({ method: 'label-propagation', score: 1 });
    expect(search.chosen.brier).toBeLessThan(1e-6);
    const fallback = search.candidates.find((c) => c.method === 'self-training' && c.scale === 'standard');
    expect(fallback?.score).toBe(1);
    expect(fallback?.brier).toBeGreaterThan(search.chosen.brier);
    expect(describeChoice(search)).toMatch(
      /^\d+ settings tie with the best Brier score of 20 settings in 10 repeats of stratified 3-fold cross-validation on 12 given labels \(60 rows\) .*; of them label-propagation k=\d+, scale \w+ 100\.0% \+\/- 0\.0% \(Brier 0\.000\) agrees with the consensus of the settings on 100\.0% of 48 unlabelled rows/,
    );
  });

  it('gives the same candidates for the same seed', () => {
    // Prepare
    const { X, y } = clusters(20, 6);
    const options = parseRunOptions({ method: 'auto', seed: 3 });
    // Act
    const first = searchGrid(X, y, 2, standardOf(X), options);
    const second = searchGrid(X, y, 2, standardOf(X), options);
    // Assess
    expect(second).toEqual(first);
  });

  it('returns nothing with too few labels to cross-validate', () => {
    // Prepare: 2 labels per class, fewer than 3 folds
    const { X, y } = clusters(10, 2);
    // Act / Assess
    expect(searchGrid(X, y, 2, standardOf(X), parseRunOptions({ method: 'auto' }))).toBeUndefined();
  });
});

describe('predictorsFor', () => {
  /** 3 overlapping noisy classes in 2-d, 2 labels each: propagation's answer depends on the graph's weights. */
  function overlapping() {
    const random = seededUniform(11);
    const n = 120;
    const data = new Float64Array(n * 2);
    const y = new Int32Array(n).fill(UNLABELLED);
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      data[i * 2] = c + 2 * random();
      data[i * 2 + 1] = 2 * random();
      if (i < 6) y[i] = c;
    }
    return { X: featureMatrix(data, n, 2), y };
  }

  it('gives each setting the predictions of a fresh graph, whatever ran on the shared graph before', () => {
    // Prepare: spreading (k = 5) runs twice on the k = 5 graph before propagation (k = 5) uses it
    const { X, y } = overlapping();
    const options = parseRunOptions({ method: 'auto' });
    const spreading = { method: 'label-spreading', scale: 'none', neighbors: 5, alpha: 0.8 } as const;
    const propagation = { method: 'label-propagation', scale: 'none', neighbors: 5 } as const;
    const [spread, propagate] = predictorsFor([spreading, propagation], X, 3, standardOf(X), options, undefined);
    const [freshSpread] = predictorsFor([spreading], X, 3, standardOf(X), options, undefined);
    const [freshPropagate] = predictorsFor([propagation], X, 3, standardOf(X), options, undefined);

    // Act
    const first = spread(y);
    const second = spread(y);
    const afterSpreading = propagate(y);

    // Assess
    expect(Array.from(first)).toEqual(Array.from(freshSpread(y)));
    expect(Array.from(second)).toEqual(Array.from(first));
    expect(Array.from(afterSpreading)).toEqual(Array.from(freshPropagate(y)));
  });
});
