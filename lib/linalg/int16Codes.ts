import type { RowData } from './squaredDistances.ts';

/**
 * 16-bit codes of Float32 rows for the WebAssembly candidate kernel (wasm/dotKernel.wat, `candidates`): each
 * feature becomes round((x_t - centre_t) / scale), one scale for all features so that integer dot products
 * stay distances. Two codes share a 32-bit word (features 2u and 2u + 1, the lower in the low half), the
 * operand layout of i32x4.dot_i16x8_s. The codes are a filter, not an answer: the coding error of a row is at
 * most scale * sqrt(d) / 2 in euclidean length, so `candidateBound` widens a squared-distance bound by it and
 * the caller recomputes every flagged pair exactly (the scalar quantisation of FAISS's IndexScalarQuantizer,
 * used here only to skip pairs that provably cannot enter a list).
 */
export interface Int16Codes {
  readonly d: number;
  /** 32-bit words per row: ceil(d / 2). */
  readonly pairs: number;
  /** Per feature, the middle of its range over the rows the codes were made for. */
  readonly centre: Float64Array;
  readonly scale: number;
  /** The largest code in absolute value: small enough that 3 * pairs * 2 * limit^2 < 2^31 (no i32 overflow). */
  readonly limit: number;
}

/** f32 unit roundoff. */
const F32_EPSILON = 2 ** -24;
const INT32_MAX = 2 ** 31 - 1;
/** Added before truncating a code (with half a step) and taken off after: above the largest code. */
const SHIFT = 32768;

/**
 * Codes for rows of `d` features covering every row of `blocks` (each a row-major Float32 block): a row
 * outside their range cannot be coded. Undefined when a value is not finite.
 */
export function int16Codes(d: number, blocks: readonly RowData[]): Int16Codes | undefined {
  const low = new Float64Array(d).fill(Number.POSITIVE_INFINITY);
  const high = new Float64Array(d).fill(Number.NEGATIVE_INFINITY);
  for (const block of blocks) {
    for (let base = 0; base + d <= block.length; base += d) {
      for (let t = 0; t < d; t++) {
        const x = block[base + t];
        if (Number.isNaN(x)) return undefined;
        if (x < low[t]) low[t] = x;
        if (x > high[t]) high[t] = x;
      }
    }
  }
  const centre = new Float64Array(d);
  let halfRange = 0;
  for (let t = 0; t < d; t++) {
    if (low[t] > high[t]) continue; // no rows
    if (!Number.isFinite(low[t]) || !Number.isFinite(high[t])) return undefined;
    centre[t] = (low[t] + high[t]) / 2;
    halfRange = Math.max(halfRange, (high[t] - low[t]) / 2);
  }
  const pairs = Math.ceil(d / 2);
  // |r|^2 - 2 q.r lies in [-2 * 2 * pairs * limit^2, 3 * 2 * pairs * limit^2]: keep it inside int32.
  const limit = Math.min(32767, Math.floor(Math.sqrt(INT32_MAX / (6 * pairs))) - 1);
  return { d, pairs, centre, scale: halfRange > 0 ? halfRange / limit : 1, limit };
}

/**
 * Writes the codes of rows [start, end) of `src` (or rows[start..end) when `rows` is given) to `out` from
 * word `offset`, `codes.pairs` words per row. Throws on a value outside the range the codes were made for.
 */
export function encodeRows(
  codes: Int16Codes,
  src: RowData,
  start: number,
  end: number,
  out: Int32Array,
  offset = 0,
): void {
  const { d, pairs, centre, scale, limit } = codes;
  // Multiplying by the inverse scale and rounding half up moves a code by at most 1e-12 of the exact quotient's
  // rounding: inside the slack candidateBound allows.
  const inverse = 1 / scale;
  for (let i = start; i < end; i++) {
    const base = i * d;
    let word = offset + (i - start) * pairs;
    for (let t = 0; t < d; t += 2) {
      // Shifted positive, so truncation is the floor (rounding half up); a value outside the range fails below.
      const lo = (((src[base + t] - centre[t]) * inverse + SHIFT + 0.5) | 0) - SHIFT;
      const hi = t + 1 < d ? (((src[base + t + 1] - centre[t + 1]) * inverse + SHIFT + 0.5) | 0) - SHIFT : 0;
      if (!(lo <= limit && lo >= -limit && hi <= limit && hi >= -limit)) {
        throw new RangeError(`row ${i} lies outside the range its 16-bit codes were made for`);
      }
      out[word++] = (lo & 0xffff) | (hi << 16);
    }
  }
}

/** Sum of squared codes of the row at word `offset` (exact: at most pairs * 2 * limit^2 < 2^31). */
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
 * - Coding: each coded row is within scale * sqrt(d) / 2 of its row, so the coded distance is at most the
 *   exact distance plus scale * sqrt(d) (triangle inequality).
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
  const length = Math.sqrt(bound + rounding) / scale + Math.sqrt(d) * (1 + 1e-9);
  const limit = Math.floor(length * length * (1 + 1e-12)) - qCodeNorm;
  return Math.min(limit, INT32_MAX);
}
