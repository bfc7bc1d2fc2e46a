import { SelfTraining } from '../algorithms/selfTraining.ts';
import { UNLABELLED } from '../data/dataset.ts';
import type { FeatureMatrix } from '../data/featureMatrix.ts';
import { connectivityFromNeighbors } from '../graph/knnKernel.ts';
import { rbfWeightsFromNeighbors } from '../graph/knnRbfKernel.ts';
import type { KnnResult } from '../graph/knnSearch.ts';
import { seededUniform } from '../linalg/seededRandom.ts';
import { propagateOverAffinity } from './methods.ts';
import { effectiveMaxIter, effectiveThreshold, type RunOptions } from './runOptions.ts';

/** A concrete method `--method auto` may pick. */
export interface Candidate {
  readonly method: 'label-spreading' | 'label-propagation' | 'self-training';
  readonly kernel: 'knn' | 'knn-rbf';
}

/** In order of preference on a tie. */
export const CANDIDATES: readonly Candidate[] = [
  { method: 'label-spreading', kernel: 'knn' },
  { method: 'label-spreading', kernel: 'knn-rbf' },
  { method: 'label-propagation', kernel: 'knn' },
  { method: 'self-training', kernel: 'knn' },
];

export interface MethodChoice extends Candidate {
  /** The rbf width used for knn-rbf (neighborScaleGamma). */
  readonly gamma: number;
  readonly reason: string;
  /** Cross-validated accuracy of every candidate, in CANDIDATES order (null when not evaluated). */
  readonly scores: (number | null)[];
}

const FOLDS = 3;

/**
 * Stratified folds over the given labels: each class's rows, shuffled with the seed, dealt round-robin into
 * the folds. A class with fewer labels than folds stays out of every validation fold (always trained on).
 */
export function stratifiedFolds(y: Int32Array, folds: number, seed: number): Int32Array {
  const fold = new Int32Array(y.length).fill(-1);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) if (y[i] !== UNLABELLED) byClass.set(y[i], [...(byClass.get(y[i]) ?? []), i]);
  const random = seededUniform(seed);
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = byClass.get(c)!;
    if (rows.length < folds) continue;
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    rows.forEach((row, r) => {
      fold[row] = r % folds;
    });
  }
  return fold;
}

/**
 * rbf width for weights on knn edges: 1 / the mean squared distance to the k-th neighbour, so a typical edge
 * weighs about e^-1 whatever the scale of the features (scikit-learn's gamma=20 suits unit-scale data only).
 */
export function neighborScaleGamma(lists: KnnResult): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < lists.n; i++) {
    const d = lists.distances[i * lists.k + lists.k - 1];
    if (Number.isFinite(d)) {
      sum += d;
      count++;
    }
  }
  return count > 0 && sum > 0 ? count / sum : 1;
}

function predictWith(
  candidate: Candidate,
  X: FeatureMatrix,
  y: Int32Array,
  k: number,
  lists: KnnResult,
  options: RunOptions,
) {
  if (candidate.method === 'self-training') {
    const model = new SelfTraining({
      threshold: effectiveThreshold({ ...options, method: 'self-training' }),
      criterion: options.criterion,
      kBest: options.kBest,
      maxIter: effectiveMaxIter({ ...options, method: 'self-training' }),
      onWarning: () => {},
    }).fit(X, y);
    return model.predict(X);
  }
  const affinity =
    candidate.kernel === 'knn'
      ? connectivityFromNeighbors(lists)
      : rbfWeightsFromNeighbors(lists, options.gamma === 'auto' ? neighborScaleGamma(lists) : options.gamma);
  return propagateOverAffinity(affinity, y, k, { ...options, method: candidate.method }, () => {}).outcome.label;
}

/**
 * `--method auto`: scores each candidate by stratified 3-fold cross-validation on the given labels (each fold's
 * labels hidden, the method run on everything else, accuracy on the hidden ones; an unreached row counts as
 * wrong) and picks the best, the earlier candidate on a tie. knn-rbf uses neighborScaleGamma. With too few labels to validate, label spreading.
 */
export function chooseMethod(
  X: FeatureMatrix,
  y: Int32Array,
  k: number,
  lists: KnnResult,
  given: RunOptions,
): MethodChoice {
  const gamma = neighborScaleGamma(lists);
  const options = { ...given, gamma };
  const fold = stratifiedFolds(y, FOLDS, options.seed);
  let validated = 0;
  for (const f of fold) if (f >= 0) validated++;
  if (validated < 2 * FOLDS) {
    return {
      ...CANDIDATES[0],
      gamma,
      scores: CANDIDATES.map(() => null),
      reason: `too few given labels for ${FOLDS}-fold cross-validation (${validated} usable): label spreading, the default`,
    };
  }
  const scores = CANDIDATES.map((candidate) => {
    let correct = 0;
    for (let f = 0; f < FOLDS; f++) {
      const trainingY = Int32Array.from(y, (label, i) => (fold[i] === f ? UNLABELLED : label));
      const predicted = predictWith(candidate, X, trainingY, k, lists, options);
      for (let i = 0; i < y.length; i++) if (fold[i] === f && predicted[i] === y[i]) correct++;
    }
    return correct / validated;
  });
  let best = 0;
  for (let c = 1; c < CANDIDATES.length; c++) if (scores[c] > scores[best]) best = c;
  const name = (c: Candidate) => `${c.method} (${c.kernel})`;
  const listing = CANDIDATES.map((c, i) => `${name(c)} ${(100 * scores[i]).toFixed(1)}%`).join(', ');
  return {
    ...CANDIDATES[best],
    gamma,
    scores,
    reason: `best ${FOLDS}-fold cross-validated accuracy on ${validated} given labels: ${listing}`,
  };
}
