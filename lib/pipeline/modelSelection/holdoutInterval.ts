/** Given labels below which a holdout is refused: no split of fewer tells two models apart. */
export const MIN_GIVEN_LABELS = 10;

/** Repeated stratified splits of the given labels (Bouckaert & Frank 2004: 10 repeats). */
export const HOLDOUT_SPLITS = 10;

/** The accuracy difference semi-supervised minus supervised-only over repeated splits, with its 95% interval. */
export interface AccuracyDifference {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly level: 0.95;
  readonly method: string;
  /** Each split's difference (held-out accuracy, semi-supervised minus supervised-only). */
  readonly splits: readonly number[];
}

export type HoldoutVerdict = 'helped' | 'did not help' | 'cannot tell';

/** Student's t 0.975 quantiles for 1 to 30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 0.975 quantile of Student's t; beyond 30 degrees of freedom the Cornish-Fisher expansion (within 1e-3). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`t quantile needs a positive whole df, not ${df}`);
  if (df <= T975.length) return T975[df - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/**
 * Corrected resampled t-interval (Nadeau & Bengio 2003, "Inference for the generalization error", Machine
 * Learning 52): over J random splits, each training on n1 labels and testing on n2, the splits overlap, so the
 * plain variance of the J differences s^2 / J understates the variance of their mean; the corrected variance is
 * (1/J + n2/n1) s^2, with J - 1 degrees of freedom. Deterministic: no resampling.
 */
export function correctedResampledInterval(
  differences: readonly number[],
  trained: number,
  tested: number,
): AccuracyDifference {
  const J = differences.length;
  if (J < 2) throw new Error('the corrected resampled t-interval needs at least two splits');
  const mean = differences.reduce((a, b) => a + b, 0) / J;
  const variance = differences.reduce((a, d) => a + (d - mean) ** 2, 0) / (J - 1);
  const half = tQuantile975(J - 1) * Math.sqrt((1 / J + tested / trained) * variance);
  return {
    estimate: mean,
    low: mean - half,
    high: mean + half,
    level: 0.95,
    method: `corrected resampled t-interval (Nadeau & Bengio 2003) over ${J} stratified splits of ${tested} held-out labels`,
    splits: [...differences],
  };
}

/** "helped" / "did not help" only when the interval excludes 0. */
export function verdictOf(difference: Pick<AccuracyDifference, 'low' | 'high'>): HoldoutVerdict {
  if (difference.low > 0) return 'helped';
  if (difference.high < 0) return 'did not help';
  return 'cannot tell';
}

/**
 * Roughly how many given labels would make the interval exclude 0: its half width shrinks about as one over the
 * square root of the labels (the split variance falls as 1/n2 and n2/n1 stays), so
 * given * (half width / |difference|)^2; where the difference is (near) 0, the labels that would tell a 5-point
 * difference apart. Never fewer than 1.5x the labels given now.
 */
export function givenLabelsNeeded(difference: AccuracyDifference, given: number): number {
  const half = (difference.high - difference.low) / 2;
  const target = Math.max(Math.abs(difference.estimate), 0.05);
  const needed = half > 0 ? given * (half / target) ** 2 : 0;
  return Math.max(Math.ceil(needed), Math.ceil(1.5 * given));
}
