import type { RowData } from './squaredDistances.ts';
import { align16, instantiateKernels, wasmSimdAvailable } from './wasm/kernelModule.ts';

/**
 * 16-bit codes of Float32 rows for the WebAssembly candidate kernel (wasm/dotKernel.wat, `candidates`): each
 * feature becomes nearest((x_t - centre_t) * inverse) in f32, one scale for all features so that integer dot
 * products stay distances. Two codes share a 32-bit word (features 2u and 2u + 1, the lower in the low half),
 * the operand layout of i32x4.dot_i16x8_s. The codes are a filter, not an answer: a coded feature is within
 * 0.505 scale of its value (half a step, plus the f32 rounding of the coding), so `candidateBound` widens a
 * squared-distance bound by the coding error of two rows and the caller recomputes every flagged pair exactly
 * (the scalar quantisation of FAISS's IndexScalarQuantizer, used here only to skip pairs that provably cannot
 * enter a list). The range and the coding run in the same WebAssembly module (`range`, `encode`).
 */
export interface Int16Codes {
  readonly d: number;
  /** 32-bit words per row: ceil(d / 2). */
  readonly pairs: number;
  /** Per feature, the middle of its range over the rows the codes were made for (f32). */
  readonly centre: Float32Array;
  /** The f32 factor of the coding, and scale = 1 / inverse: one code step. */
  readonly inverse: number;
  readonly scale: number;
  /** The largest code in absolute value: small enough that 3 * pairs * 2 * limit^2 < 2^31 (no i32 overflow). */
  readonly limit: number;
}

/** f32 unit roundoff. */
const F32_EPSILON = 2 ** -24;
const INT32_MAX = 2 ** 31 - 1;
/** A coded feature is within CODING_SLACK / 2 steps of its value: half a step and the f32 rounding of the coding. */
const CODING_SLACK = 1.01;
/** Rows of input the codec copies into its memory at a time. */
const CHUNK_BYTES = 2 ** 20;

interface CodecExports {
  readonly range: (src: number, n: number, d: number, low: number, high: number) => void;
  readonly encode: (
    src: number,
    n: number,
    d: number,
    centre: number,
    inverse: number,
    out: number,
    width: number,
  ) => number;
}

/** The codec's memory: a chunk of input rows, their codes, and d f32 each of low, high and centre. */
interface Codec {
  readonly d: number;
  readonly rows: number;
  readonly exports: CodecExports;
  readonly f32: Float32Array;
  readonly i16: Int16Array;
  readonly srcPtr: number;
  readonly outPtr: number;
  readonly lowPtr: number;
  readonly highPtr: number;
  readonly centrePtr: number;
}

let cached: Codec | undefined;

/** This thread's codec for rows of d features (one instance, made anew for another d). */
function codecFor(d: number): Codec {
  if (cached?.d === d) return cached;
  const rows = Math.max(1, Math.floor(CHUNK_BYTES / (4 * d)));
  const width = 2 * Math.ceil(d / 2);
  const srcPtr = 0;
  const outPtr = align16(rows * d * 4);
  const lowPtr = align16(outPtr + rows * width * 2);
  const highPtr = align16(lowPtr + d * 4);
  const centrePtr = align16(highPtr + d * 4);
  const { exports, buffer } = instantiateKernels<CodecExports>(centrePtr + d * 4 + 16);
  cached = {
    d,
    rows,
    exports,
    f32: new Float32Array(buffer),
    i16: new Int16Array(buffer),
    srcPtr,
    outPtr,
    lowPtr,
    highPtr,
    centrePtr,
  };
  return cached;
}

/** Calls `each(first, count)` with the rows of `block` copied, `codec.rows` at a time, to the codec's input. */
function inChunks(codec: Codec, block: RowData, n: number, each: (first: number, count: number) => void): void {
  const { d, rows, f32, srcPtr } = codec;
  for (let first = 0; first < n; first += rows) {
    const count = Math.min(rows, n - first);
    f32.set(block.subarray(first * d, (first + count) * d), srcPtr >> 2);
    each(first, count);
  }
}

/**
 * Codes for rows of `d` features covering every row of `blocks` (each row-major): a row outside their range
 * cannot be coded. Undefined when a value is not finite, or where WebAssembly SIMD is unavailable (the filter
 * then stays off).
 */
export function int16Codes(d: number, blocks: readonly RowData[]): Int16Codes | undefined {
  const range = new FeatureRange(d);
  for (const block of blocks) range.add(block);
  return range.codes();
}

/**
 * The per-feature range of rows added block by block, and the codes that cover them all: int16Codes for data
 * seen in parts (a run's shards, one at a time).
 */
export class FeatureRange {
  private readonly low: Float32Array;
  private readonly high: Float32Array;

  constructor(readonly d: number) {
    this.low = new Float32Array(d).fill(Number.POSITIVE_INFINITY);
    this.high = new Float32Array(d).fill(Number.NEGATIVE_INFINITY);
  }

  /** Widens the range by the rows of `block` (row-major); f32 min/max, so a NaN stays NaN. */
  add(block: RowData): void {
    if (!wasmSimdAvailable()) return;
    const { d, low, high } = this;
    const codec = codecFor(d);
    const { f32, lowPtr, highPtr, exports } = codec;
    f32.set(low, lowPtr >> 2);
    f32.set(high, highPtr >> 2);
    inChunks(codec, block, Math.floor(block.length / d), (_, count) => {
      exports.range(codec.srcPtr, count, d, lowPtr, highPtr);
    });
    low.set(f32.subarray(lowPtr >> 2, (lowPtr >> 2) + d));
    high.set(f32.subarray(highPtr >> 2, (highPtr >> 2) + d));
  }

  /** The smallest and largest value per feature so far (infinities before any row, or without WASM SIMD). */
  get bounds(): { readonly low: Float32Array; readonly high: Float32Array } {
    return { low: this.low, high: this.high };
  }

  /**
   * Widens the range to other rows' bounds (another range's `bounds`, kept apart and merged: min and max are
   * exact, so merged ranges are the range of all their rows).
   */
  widen(low: ArrayLike<number>, high: ArrayLike<number>): void {
    if (!wasmSimdAvailable()) return;
    for (let t = 0; t < this.d; t++) {
      this.low[t] = Math.min(this.low[t], low[t]);
      this.high[t] = Math.max(this.high[t], high[t]);
    }
  }

  /** Codes covering every row added (see int16Codes). */
  codes(): Int16Codes | undefined {
    if (!wasmSimdAvailable()) return undefined;
    const { d, low, high } = this;
    const centre = new Float32Array(d);
    let halfRange = 0;
    for (let t = 0; t < d; t++) {
      if (Number.isNaN(low[t]) || Number.isNaN(high[t])) return undefined;
      if (low[t] > high[t]) continue; // no rows
      if (!Number.isFinite(low[t]) || !Number.isFinite(high[t])) return undefined;
      centre[t] = (low[t] + high[t]) / 2;
      halfRange = Math.max(halfRange, high[t] - centre[t], centre[t] - low[t]);
    }
    const pairs = Math.ceil(d / 2);
    const limit = codeLimit(pairs);
    // Slightly under limit / halfRange, so no code of a row in the range passes limit after f32 rounding.
    const inverse = halfRange > 0 ? Math.fround((limit / halfRange) * (1 - 2 ** -16)) : 1;
    if (!Number.isFinite(inverse)) return undefined; // a range too small for f32
    return { d, pairs, centre, inverse, scale: 1 / inverse, limit };
  }
}

/** |r|^2 - 2 q.r lies in [-2 * 2 * pairs * limit^2, 3 * 2 * pairs * limit^2]: the largest code keeping it in int32. */
function codeLimit(pairs: number): number {
  return Math.floor(Math.sqrt(INT32_MAX / (6 * pairs))) - 1;
}

/** Codes as d + 1 Float32 values (the inverse, then the centre), to store with a run's IVF objects. */
export function codesToArray(codes: Int16Codes): Float32Array {
  const out = new Float32Array(codes.d + 1);
  out[0] = codes.inverse;
  out.set(codes.centre, 1);
  return out;
}

/** The codes codesToArray stored. */
export function codesFromArray(values: Float32Array): Int16Codes {
  const d = values.length - 1;
  const pairs = Math.ceil(d / 2);
  const inverse = values[0];
  return { d, pairs, centre: values.slice(1), inverse, scale: 1 / inverse, limit: codeLimit(pairs) };
}

/** Whether two codes code every row alike (code words made with one serve the other). */
export function sameCodes(a: Int16Codes, b: Int16Codes): boolean {
  if (a === b) return true;
  if (a.d !== b.d || a.inverse !== b.inverse) return false;
  for (let t = 0; t < a.d; t++) if (a.centre[t] !== b.centre[t]) return false;
  return true;
}

/**
 * The code words of the first `n` rows of `src`, `codes.pairs` per row (into `words` when given: n * pairs of
 * them). Throws on a value outside the range the codes were made for.
 */
export function encodeRows(
  codes: Int16Codes,
  src: RowData,
  n: number,
  words: Int32Array = new Int32Array(n * codes.pairs),
): Int32Array {
  const { d, pairs, centre, inverse, limit } = codes;
  const codec = codecFor(d);
  const { i16, outPtr, centrePtr, exports } = codec;
  const width = 2 * pairs;
  if (words.length !== n * pairs) throw new RangeError(`${words.length} words for ${n} rows of ${pairs} pairs`);
  const target = new Int16Array(words.buffer, words.byteOffset, 2 * words.length);
  codec.f32.set(centre, centrePtr >> 2);
  i16.fill(0, outPtr >> 1, (outPtr >> 1) + codec.rows * width);
  inChunks(codec, src, n, (first, count) => {
    const largest = exports.encode(codec.srcPtr, count, d, centrePtr, inverse, outPtr, width);
    if (largest > limit) {
      throw new RangeError(
        `a row in [${first}, ${first + count}) lies outside the range its 16-bit codes were made for`,
      );
    }
    target.set(i16.subarray(outPtr >> 1, (outPtr >> 1) + count * width), first * width);
  });
  return words;
}

/**
 * Sum of squared codes of the row at word `offset` (exact: at most pairs * 2 * limit^2 < 2^31). The kernel
 * module's `codeNorms` computes the same for the filter's blocks (candidateTiles.ts).
 */
export function codeNorm(words: Int32Array, offset: number, pairs: number): number {
  let s = 0;
  for (let u = offset; u < offset + pairs; u++) {
    const w = words[u];
    const lo = (w << 16) >> 16;
    const hi = w >> 16;
    s += lo * lo + hi * hi;
  }
  return s;
}

/**
 * The kernel's bound for one query row: every reference row whose f32 dot-expansion distance (dotDistances.ts)
 * to the query is <= `bound` has |r|^2 - 2 q.r <= the result in codes.
 * - Rounding: the f32 norms and dot product are each within gamma_d = d u / (1 - d u) of their exact values
 *   (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., eq. 3.5), so the computed distance
 *   is within 2 gamma_d (|q|^2 + |r|^2) of the exact one; `qNorm` and `maxRNorm` are the f32 norms of the query
 *   and of the largest reference row in the block.
 * - Coding: each coded row is within CODING_SLACK * scale * sqrt(d) / 2 of its row, so the coded distance is at
 *   most the exact distance plus CODING_SLACK * scale * sqrt(d) (triangle inequality).
 * Returns INT32_MAX (every row a candidate) when the widened bound does not fit.
 */
export function candidateBound(
  codes: Int16Codes,
  bound: number,
  qNorm: number,
  maxRNorm: number,
  qCodeNorm: number,
): number {
  const { d, scale } = codes;
  const gamma = ((d + 2) * F32_EPSILON) / (1 - (d + 2) * F32_EPSILON);
  const rounding = 2.01 * gamma * (qNorm + maxRNorm) + Number.MIN_VALUE;
  const length = Math.sqrt(bound + rounding) / scale + Math.sqrt(d) * CODING_SLACK;
  const limit = Math.floor(length * length * (1 + 1e-12)) - qCodeNorm;
  return Math.min(limit, INT32_MAX);
}
