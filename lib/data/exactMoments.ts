/**
 * Count, mean and population variance per feature from exact sums of the Float32 values and of their squares,
 * so that sums taken apart (one per ingest shard) and merged are the same as one sum over every row, in any
 * order (issue 16: collect merges the shards' summaries instead of reading their rows; issue 18: "per-shard sums
 * merged"). The mean and variance are then rounded once from the exact sums, so there is no cancellation
 * between sum(x^2) and sum(x)^2 / n either: they are the exact mean and variance, to the last bit or so.
 *
 * A Float32 value is m * 2^(e - 150) with an integer |m| < 2^24 and e in 1 .. 254 (e = 1 for subnormals): its
 * exact sum is kept as one double per exponent, sum(m), exact while fewer than 2^29 values are added; its square,
 * m^2 * 2^(2e - 300), as three doubles per exponent, m = h 2^12 + l giving h^2 2^24 + 2hl 2^12 + l^2, each under
 * 2^25 and so exact for 2^28 values. Every FLUSH_ROWS rows the doubles are moved into BigInts (in 2^-149 and
 * 2^-298 units), which is also the form a summary stores (as decimal strings).
 */

const EXPONENTS = 256;
/** Rows added between moves of the per-exponent doubles into BigInts (well under 2^28). */
const FLUSH_ROWS = 2 ** 27;

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** Exact per-feature sums of values and squares: the mergeable part of a shard summary. */
export interface MomentSums {
  readonly count: number;
  /** Per feature, sum(x) in units of 2^-149, as a decimal string. */
  readonly sum: string[];
  /** Per feature, sum(x^2) in units of 2^-298, as a decimal string. */
  readonly sumSquares: string[];
}

export class ExactMoments {
  count = 0;
  private readonly sumUnits: bigint[];
  private readonly squareUnits: bigint[];
  /** Per feature and exponent: sum(m), sum(h^2), sum(2hl), sum(l^2) since the last flush. */
  private readonly values: Float64Array;
  private readonly high: Float64Array;
  private readonly cross: Float64Array;
  private readonly low: Float64Array;
  private pending = 0;

  constructor(readonly d: number) {
    this.sumUnits = Array.from({ length: d }, () => 0n);
    this.squareUnits = Array.from({ length: d }, () => 0n);
    this.values = new Float64Array(d * EXPONENTS);
    this.high = new Float64Array(d * EXPONENTS);
    this.cross = new Float64Array(d * EXPONENTS);
    this.low = new Float64Array(d * EXPONENTS);
  }

  /** Adds n rows of d values (row-major; Float64 values are taken as the Float32 values shards store), skipping `skip`. */
  add(data: Float32Array | Float64Array, n: number, skip?: ReadonlySet<number>): void {
    const { d, values, high, cross, low } = this;
    for (let i = 0; i < n; i++) {
      if (skip?.has(i)) continue;
      for (let j = 0; j < d; j++) {
        asFloat[0] = data[i * d + j];
        const word = bits[0];
        const field = (word >>> 23) & 0xff;
        const m = field === 0 ? word & 0x7fffff : (word & 0x7fffff) | 0x800000;
        if (m === 0) continue;
        const at = j * EXPONENTS + (field === 0 ? 1 : field);
        values[at] += word >>> 31 ? -m : m;
        const h = m >>> 12;
        const l = m & 0xfff;
        high[at] += h * h;
        cross[at] += 2 * h * l;
        low[at] += l * l;
      }
      this.count++;
      if (++this.pending === FLUSH_ROWS) this.flush();
    }
  }

  /** Removes one row added before (a duplicate id found after its shard's sums were taken). */
  subtractRow(row: Float32Array): void {
    const one = new ExactMoments(this.d);
    one.add(row, 1);
    const sums = one.sums();
    for (let j = 0; j < this.d; j++) {
      this.sumUnits[j] -= BigInt(sums.sum[j]);
      this.squareUnits[j] -= BigInt(sums.sumSquares[j]);
    }
    this.count -= 1;
  }

  /** Adds the sums of other rows (a shard summary's). */
  merge(sums: MomentSums): void {
    if (sums.sum.length !== this.d) throw new RangeError(`sums of ${sums.sum.length} features, expected ${this.d}`);
    for (let j = 0; j < this.d; j++) {
      this.sumUnits[j] += BigInt(sums.sum[j]);
      this.squareUnits[j] += BigInt(sums.sumSquares[j]);
    }
    this.count += sums.count;
  }

  /** The exact sums, to store or merge. */
  sums(): MomentSums {
    this.flush();
    return {
      count: this.count,
      sum: this.sumUnits.map(String),
      sumSquares: this.squareUnits.map(String),
    };
  }

  get mean(): Float64Array {
    this.flush();
    const n = BigInt(this.count);
    return Float64Array.from(this.sumUnits, (sum) => (this.count === 0 ? Number.NaN : ratioToDouble(sum, n, -149)));
  }

  /** Population variance per feature (ddof 0, StandardScaler's var_): (n sum(x^2) - sum(x)^2) / n^2, rounded once. */
  variance(): Float64Array {
    this.flush();
    const n = BigInt(this.count);
    return Float64Array.from(this.sumUnits, (sum, j) =>
      this.count === 0 ? Number.NaN : ratioToDouble(n * this.squareUnits[j] - sum * sum, n * n, -298),
    );
  }

  private flush(): void {
    if (this.pending === 0) return;
    const { d, values, high, cross, low } = this;
    for (let j = 0; j < d; j++) {
      for (let e = 1; e < EXPONENTS; e++) {
        const at = j * EXPONENTS + e;
        if (values[at] !== 0) this.sumUnits[j] += BigInt(values[at]) << BigInt(e - 1);
        const square = (BigInt(high[at]) << 24n) + (BigInt(cross[at]) << 12n) + BigInt(low[at]);
        if (square !== 0n) this.squareUnits[j] += square << BigInt(2 * e - 2);
      }
    }
    values.fill(0);
    high.fill(0);
    cross.fill(0);
    low.fill(0);
    this.pending = 0;
  }
}

/** numerator / denominator * 2^exponent as the nearest double (denominator > 0; a sticky bit keeps ties honest). */
export function ratioToDouble(numerator: bigint, denominator: bigint, exponent: number): number {
  if (numerator === 0n) return 0;
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  // a quotient of at least 65 bits, its last bit set when the division was inexact
  const shift = Math.max(0, 66 + bitLength(denominator) - bitLength(magnitude));
  const scaled = magnitude << BigInt(shift);
  const quotient = scaled / denominator;
  const sticky = quotient * denominator === scaled ? 0n : 1n;
  let value = Number((quotient << 1n) | sticky);
  let power = exponent - shift - 1;
  while (power < -1000) {
    value *= 2 ** -1000;
    power += 1000;
  }
  while (power > 1000) {
    value *= 2 ** 1000;
    power -= 1000;
  }
  value *= 2 ** power;
  return negative ? -value : value;
}

function bitLength(value: bigint): number {
  return value.toString(2).length;
}
