import { ExactMoments } from './exactMoments.ts';

/**
 * Feature scaling (`--scale`), as scikit-learn's StandardScaler and RobustScaler compute it, from statistics
 * gathered shard by shard: no step holds the rows of the whole data set.
 *
 * - standard: centre = mean, scale = population standard deviation (StandardScaler: ddof 0; a constant
 *   feature gets scale 1), from exact sums of the values and their squares (ExactMoments): each shard's sums
 *   are taken apart (the ingest task's summary) and merged, then rounded once.
 * - robust: centre = median, scale = 75th - 25th percentile (RobustScaler's defaults; numpy's linear
 *   interpolation between the two order statistics around each rank; a zero range gets scale 1). The order
 *   statistics are exact, found by radix selection on the bits of the Float32 values: three more reads of the
 *   shards once the row count is known, each adding per-shard histograms of 11, 11 and 10 key bits per
 *   feature (counts: they merge exactly); memory d x 2,048 counts per sought rank (at most 6), never the rows.
 *
 * Both are the same doubles for every shard count.
 *
 * A scaled value is (x - centre) / scale, in doubles, as scikit-learn's transform computes it.
 */

export const SCALES = ['none', 'standard', 'robust'] as const;
export type Scale = (typeof SCALES)[number];

/** What a run's rows are scaled with (collect.json `scaling`, report.json `scaling`). */
export interface FeatureScaling {
  readonly method: Scale;
  /** Per feature; empty for `none`. */
  readonly center: number[];
  readonly scale: number[];
  /** Largest over smallest non-zero population standard deviation of the features (1 when fewer than two vary). */
  readonly spreadRatio: number;
}

/** Feature spreads differing by more than this make distances follow the widest features: a warning. */
export const SPREAD_WARNING_RATIO = 10;

/** The warning for unscaled features of very different spreads, or undefined. */
export function spreadWarning(scaling: FeatureScaling): string | undefined {
  if (scaling.method !== 'none' || !(scaling.spreadRatio > SPREAD_WARNING_RATIO)) return undefined;
  return (
    `feature spreads differ by ${formatRatio(scaling.spreadRatio)}x (largest over smallest standard deviation): ` +
    'distances follow the widest features; --scale standard (or robust, with outliers) puts them on one scale'
  );
}

function formatRatio(ratio: number): string {
  return ratio >= 100 ? Math.round(ratio).toLocaleString('en-US') : ratio.toFixed(1);
}

/** The rows of one shard to learn from: row-major values, and local rows to skip (duplicate ids). */
export interface ShardBlock {
  readonly data: Float32Array | Float64Array;
  readonly n: number;
  readonly skip?: ReadonlySet<number>;
}

/**
 * StandardScaler's scale_: the standard deviation, or 1 for a feature whose variance is within rounding error
 * of zero (its _is_constant_feature bound, n eps var + (n mean eps)^2).
 */
function standardScale(moments: ExactMoments): number[] {
  const eps = Number.EPSILON;
  const n = moments.count;
  const mean = moments.mean;
  return Array.from(moments.variance(), (variance, j) => {
    const upper = n * eps * variance + (n * mean[j] * eps) ** 2;
    return variance <= upper ? 1 : Math.sqrt(variance);
  });
}

/** Largest over smallest non-zero standard deviation. */
function spreadRatioOf(moments: ExactMoments): number {
  let low = Number.POSITIVE_INFINITY;
  let high = 0;
  for (const variance of moments.variance()) {
    if (!(variance > 0)) continue;
    const std = Math.sqrt(variance);
    low = Math.min(low, std);
    high = Math.max(high, std);
  }
  return high > 0 && low < high ? high / low : 1;
}

/** Float32 bits as an unsigned key in the order of the values (negative values flipped whole). */
function sortKey(bits: number): number {
  return (bits & 0x80000000 ? ~bits : bits | 0x80000000) >>> 0;
}

function valueOfKey(key: number): number {
  const bits = key & 0x80000000 ? key & 0x7fffffff : ~key;
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
}

/** Radix passes over the 32 key bits: 11, 11, 10. */
const PASS_BITS = [11, 11, 10] as const;

/**
 * Exact order statistics per feature by radix selection over the Float32 keys: every sought rank keeps the key
 * prefix it has narrowed to and its rank among the keys with that prefix; each pass counts the next bits of the
 * keys that share the prefix, then narrows. After the three passes the prefix is the whole key.
 */
export class OrderStatistics {
  private pass = 0;
  /** Per feature and sought rank (ascending): the key prefix found so far and the rank left within it. */
  private readonly prefix: Uint32Array;
  private readonly rankLeft: Float64Array;
  private counts: Float64Array;
  private readonly f32 = new Float32Array(1);
  private readonly u32 = new Uint32Array(this.f32.buffer);

  /** `ranks`: 0-based ranks sought in every feature, ascending. */
  constructor(
    readonly d: number,
    readonly ranks: readonly number[],
  ) {
    const m = ranks.length;
    this.prefix = new Uint32Array(d * m);
    this.rankLeft = new Float64Array(d * m);
    for (let j = 0; j < d; j++) for (let r = 0; r < m; r++) this.rankLeft[j * m + r] = ranks[r];
    this.counts = new Float64Array(d * m * (1 << PASS_BITS[0]));
  }

  get passesLeft(): number {
    return PASS_BITS.length - this.pass;
  }

  /** Counts a shard's rows in this pass's histograms. */
  add({ data, n, skip }: ShardBlock): void {
    const { d, ranks, prefix, counts, f32, u32 } = this;
    const m = ranks.length;
    const done = PASS_BITS.slice(0, this.pass).reduce((a: number, b) => a + b, 0);
    const bits = PASS_BITS[this.pass];
    const shift = 32 - done - bits;
    const mask = (1 << bits) - 1;
    for (let i = 0; i < n; i++) {
      if (skip?.has(i)) continue;
      for (let j = 0; j < d; j++) {
        f32[0] = data[i * d + j];
        const key = sortKey(u32[0]);
        const high = done === 0 ? 0 : key >>> (32 - done);
        const bin = (key >>> shift) & mask;
        for (let r = 0; r < m; r++) {
          // Ranks of one prefix (adjacent, as ranks ascend) share the first one's histogram (see narrow).
          const p = prefix[j * m + r];
          if (p === high && (r === 0 || prefix[j * m + r - 1] !== p)) counts[((j * m + r) << bits) + bin]++;
        }
      }
    }
  }

  /** Ends a pass: each rank moves into the bin that holds it. */
  narrow(): void {
    const { d, ranks, prefix, rankLeft, counts } = this;
    const m = ranks.length;
    const bits = PASS_BITS[this.pass];
    const before = Uint32Array.from(prefix);
    for (let j = 0; j < d; j++) {
      let source = 0;
      for (let r = 0; r < m; r++) {
        if (r === 0 || before[j * m + r - 1] !== before[j * m + r]) source = r;
        const base = (j * m + source) << bits;
        let left = rankLeft[j * m + r];
        let bin = 0;
        while (left >= counts[base + bin]) left -= counts[base + bin++];
        rankLeft[j * m + r] = left;
        prefix[j * m + r] = ((before[j * m + r] << bits) | bin) >>> 0;
      }
    }
    this.pass++;
    if (this.pass < PASS_BITS.length) this.counts = new Float64Array(d * m * (1 << PASS_BITS[this.pass]));
  }

  /** The value of every sought rank, feature by feature (values[j * ranks.length + r]), after the last pass. */
  values(): Float64Array {
    return Float64Array.from(this.prefix, valueOfKey);
  }
}

/** numpy's linear interpolation between a and b at t in [0, 1] (numpy's _lerp, exact at both ends). */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** numpy.percentile's 'linear' method: the virtual index (n - 1) q and its two neighbouring ranks. */
function percentileRanks(n: number, q: number): { low: number; high: number; t: number } {
  const index = n * q + (1 + q * -1) - 1;
  const low = Math.floor(index);
  return { low, high: Math.min(n - 1, low + 1), t: index - low };
}

/** The statistics of one run's features, fed shard by shard, then the scaling (see the file comment). */
export class FeatureStatistics {
  readonly moments: ExactMoments;

  constructor(
    readonly d: number,
    readonly method: Scale,
  ) {
    this.moments = new ExactMoments(d);
  }

  /** A shard's rows, read once by collect (moments for every method: the spread warning needs them). */
  add(block: ShardBlock): void {
    this.moments.add(block.data, block.n, block.skip);
  }

  /**
   * The scaling (by `method`, the constructor's unless given: `--method auto` picks it after the read). For robust scaling `readShards` visits every shard's block again for each radix pass (the row
   * count, and so the ranks sought, are known only now).
   */
  async finish(
    readShards: (visit: (block: ShardBlock) => void) => Promise<void>,
    method: Scale = this.method,
  ): Promise<FeatureScaling> {
    const spreadRatio = spreadRatioOf(this.moments);
    if (method === 'none' || this.moments.count === 0) return { method, center: [], scale: [], spreadRatio };
    if (method === 'standard')
      return { method: 'standard', center: [...this.moments.mean], scale: standardScale(this.moments), spreadRatio };
    const n = this.moments.count;
    const quantiles = [0.25, 0.5, 0.75].map((q) => percentileRanks(n, q));
    const ranks = [...new Set(quantiles.flatMap(({ low, high }) => [low, high]))].sort((a, b) => a - b);
    const order = new OrderStatistics(this.d, ranks);
    while (order.passesLeft > 0) {
      await readShards((block) => order.add(block));
      order.narrow();
    }
    const values = order.values();
    const at = (j: number, rank: number) => values[j * ranks.length + ranks.indexOf(rank)];
    const center: number[] = [];
    const scale: number[] = [];
    for (let j = 0; j < this.d; j++) {
      // np.nanmedian: the mean of the two middle values; np.nanpercentile: numpy's linear interpolation.
      const middle = quantiles[1];
      center.push(middle.t === 0 ? at(j, middle.low) : (at(j, middle.low) + at(j, middle.high)) / 2);
      const [q25, q75] = [quantiles[0], quantiles[2]].map(({ low, high, t }) => lerp(at(j, low), at(j, high), t));
      const range = q75 - q25;
      // _handle_zeros_in_scale: a range below 10 eps counts as zero and gets scale 1.
      scale.push(range < 10 * Number.EPSILON ? 1 : range);
    }
    return { method: 'robust', center, scale, spreadRatio };
  }
}

/** Whether `scaling` changes the features: recorded and not `none` (a run without --scale records `none`). */
export function scalesFeatures(scaling: FeatureScaling | undefined): scaling is FeatureScaling {
  return scaling !== undefined && scaling.method !== 'none';
}

/** Scales row-major values in place: (x - centre) / scale per feature. */
export function scaleInPlace(data: Float32Array | Float64Array, d: number, scaling: FeatureScaling): void {
  if (scaling.method === 'none' || scaling.center.length === 0) return;
  const { center, scale } = scaling;
  for (let i = 0; i < data.length; i += d) {
    for (let j = 0; j < d; j++) data[i + j] = (data[i + j] - center[j]) / scale[j];
  }
}
