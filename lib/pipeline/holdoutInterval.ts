import { seededUniform } from '../linalg/seededRandom.ts';

/** Held-out labels below which a holdout is refused: its verdict would be noise. */
export const MIN_HOLDOUT_LABELS = 10;

/** Bootstrap resamples of the held-out rows. */
export const BOOTSTRAP_RESAMPLES = 2000;

/** The accuracy difference semi-supervised minus supervised-only on the held-out rows, with its 95% interval. */
export interface AccuracyDifference {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly level: 0.95;
  readonly method: string;
}

export type HoldoutVerdict = 'helped' | 'did not help' | 'cannot tell';

/**
 * Paired percentile bootstrap (Efron & Tibshirani 1993, ch. 13) of the accuracy difference: the held-out rows are
 * resampled with replacement, and each resample's difference is the mean of (semi right) - (supervised right)
 * over its rows, so the two models are compared on the same rows. Seeded: the same interval on every run.
 */
export function accuracyDifference(
  truth: Int32Array,
  semiSupervised: Int32Array,
  supervised: Int32Array,
  seed: number,
): AccuracyDifference {
  const n = truth.length;
  const delta = Int8Array.from(truth, (t, i) => (semiSupervised[i] === t ? 1 : 0) - (supervised[i] === t ? 1 : 0));
  let sum = 0;
  for (const d of delta) sum += d;
  const random = seededUniform(seed);
  const means = new Float64Array(BOOTSTRAP_RESAMPLES);
  for (let b = 0; b < BOOTSTRAP_RESAMPLES; b++) {
    let resampled = 0;
    for (let i = 0; i < n; i++) resampled += delta[Math.floor(random() * n)];
    means[b] = resampled / n;
  }
  means.sort();
  return {
    estimate: sum / n,
    low: means[Math.floor(0.025 * BOOTSTRAP_RESAMPLES)],
    high: means[Math.ceil(0.975 * BOOTSTRAP_RESAMPLES) - 1],
    level: 0.95,
    method: `paired bootstrap of the held-out rows, ${BOOTSTRAP_RESAMPLES} resamples`,
  };
}

/** "helped" / "did not help" only when the interval excludes 0. */
export function verdictOf(difference: AccuracyDifference): HoldoutVerdict {
  if (difference.low > 0) return 'helped';
  if (difference.high < 0) return 'did not help';
  return 'cannot tell';
}

/**
 * Roughly how many held-out labels would make the 95% interval exclude 0 (normal approximation:
 * n = 1.96^2 var / difference^2, var the per-row variance of the paired difference). Where the difference is 0
 * (or every row agrees), the labels that would tell a 5-point difference apart at the observed rate of
 * disagreement (at least 5%). Never fewer than 1.5x the labels held out now.
 */
export function heldOutLabelsNeeded(truth: Int32Array, semiSupervised: Int32Array, supervised: Int32Array): number {
  const n = truth.length;
  let onlySemi = 0;
  let onlySupervised = 0;
  for (let i = 0; i < n; i++) {
    const a = semiSupervised[i] === truth[i];
    const b = supervised[i] === truth[i];
    if (a && !b) onlySemi++;
    if (b && !a) onlySupervised++;
  }
  const p10 = onlySemi / n;
  const p01 = onlySupervised / n;
  const difference = p10 - p01;
  const variance = p10 + p01 - difference * difference;
  const z2 = 1.96 * 1.96;
  const needed =
    difference !== 0 && variance > 0
      ? (z2 * variance) / (difference * difference)
      : (z2 * Math.max(p10 + p01, 0.05)) / (0.05 * 0.05);
  return Math.max(Math.ceil(needed), Math.ceil(1.5 * n));
}
