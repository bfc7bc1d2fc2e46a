import type { Scale } from '../../data/featureScaling.ts';
import { FLOAT32_MAX } from '../../data/shardFormat.ts';
import { InputError } from '../../errors.ts';

/**
 * The largest feature magnitude M the Float32 distance kernels hold for d features: they compute
 * |x|^2 + |y|^2 - 2 x.y (lib/linalg/wasm), and |x - y|^2 reaches 4 d M^2. Beyond it the sums overflow to Infinity
 * and every neighbour list is noise (measured: two classes at 1e20 labelled half wrong, at 1e18 all right).
 */
export function largestDistanceFeature(d: number): number {
  return Math.sqrt(FLOAT32_MAX / (4 * Math.max(1, d)));
}

/**
 * Refuses a run whose features (as the kNN graph sees them: after --scale) are too large for the Float32 distance
 * kernels, naming the first such column and what would mend it. Non-finite bounds (no rows) are left alone.
 */
export function checkDistanceRange(
  bounds: { readonly low: Float32Array; readonly high: Float32Array },
  featureNames: readonly string[],
  source: string,
  scale: Scale,
): void {
  const limit = largestDistanceFeature(featureNames.length);
  for (let t = 0; t < featureNames.length; t++) {
    const magnitude = Math.max(Math.abs(bounds.low[t]), Math.abs(bounds.high[t]));
    if (!Number.isFinite(magnitude) || magnitude <= limit) continue;
    const scaled = scale === 'none' ? '' : ` after --scale ${scale}`;
    const mend = scale === 'standard' ? 'rescale the column' : 'rescale the column, or use --scale standard';
    throw new InputError(
      `${source}: column "${featureNames[t]}" reaches ${magnitude.toPrecision(3)}${scaled}, beyond the ` +
        `${limit.toPrecision(3)} that the Float32 distance kernels hold with ${featureNames.length} features ` +
        `(squared distances would pass 3.4e38): ${mend}`,
    );
  }
}
