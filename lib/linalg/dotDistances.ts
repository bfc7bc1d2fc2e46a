import type { RowData } from './squaredDistances.ts';

/**
 * Squared euclidean distances by the dot-product expansion |x|^2 + |y|^2 - 2 x.y over Float32 rows, the form
 * of scikit-learn's `euclidean_distances` and of BLAS-based brute force (sklearn.metrics.pairwise,
 * "_euclidean_distances_upcast" keeps the same expansion). Two things make it deterministic here:
 *
 * - Every dot product and every norm is ONE fixed sequence of single-precision operations,
 *   `s = f32(s + f32(x_t * y_t))` for t = 0 .. d-1, whatever the tiling. So a pair has the same value in any
 *   tile, shard or micro-kernel position, and the SIMD kernel (wasm/dotKernel.wat, one pair per lane) gives
 *   bit-identical results to this scalar JS version (Math.fround after each operation; a float operation
 *   computed in double then rounded to float is correctly rounded, since 53 >= 2*24 + 2: Figueroa, "When is
 *   double rounding innocuous?", SIGNUM 1995).
 * - The norms use the same sequence as the dots, so identical rows are at distance exactly 0.
 *
 * The three f32 results are combined in double, `v = (|x|^2 + |y|^2) - 2 x.y`, and clamped: `v > 0 ? v : 0`
 * (the expansion can go slightly negative). Values differ from the direct sum of squared differences in the
 * low bits (relative error about d * 2^-24 of |x|^2 + |y|^2); rows are rounded to Float32 first.
 */

/** Copies rows [start, end) of `src` into `dst` (row-major, d values per row) rounded to Float32. */
export function packRowsF32(src: RowData, d: number, start: number, end: number, dst: Float32Array): void {
  const count = (end - start) * d;
  if (count > dst.length) throw new RangeError(`pack buffer holds ${dst.length} values, needs ${count}`);
  const base = start * d;
  for (let p = 0; p < count; p++) dst[p] = src[base + p];
}

/** out[i] = |row i|^2 of the first `n` rows of packed `rows`, by the fixed f32 sequence (see above). */
export function rowNormsF32(rows: Float32Array, n: number, d: number, out: Float64Array): void {
  if (out.length < n) throw new RangeError(`norm buffer holds ${out.length} values, needs ${n}`);
  for (let i = 0; i < n; i++) {
    const a = i * d;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const x = rows[a + t];
      s = Math.fround(s + Math.fround(x * x));
    }
    out[i] = s;
  }
}

/**
 * |row i|^2 of every row of `src` (n rows of d, rounded to Float32 first) by the same f32 sequence (into `out`
 * when given).
 */
export function rowNormsOf(src: RowData, n: number, d: number, out: Float64Array = new Float64Array(n)): Float64Array {
  for (let i = 0; i < n; i++) {
    const a = i * d;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const x = Math.fround(src[a + t]);
      s = Math.fround(s + Math.fround(x * x));
    }
    out[i] = s;
  }
  return out;
}

/** The clamped combination of norms and dot product, shared by every kernel of this family. */
export function combineDot(qNorm: number, rNorm: number, dot: number): number {
  const v = qNorm + rNorm - 2 * dot;
  // biome-ignore lint/complexity/useMathMinMax: must equal the SIMD kernel's f64x2.pmax(0, v), NaN and -0 included
  return v > 0 ? v : 0;
}

/**
 * out[i * stride + j] = combineDot(qNorms[i], rNorms[j], q_i . r_j) for i < nq, j < nr over packed Float32
 * rows. Register-blocked 4 query x 4 reference rows; remainders use the same per-pair sequence, so every entry
 * equals `dotSquaredDistance` bit for bit.
 */
export function dotDistancesPacked(
  q: Float32Array,
  qNorms: Float64Array,
  nq: number,
  r: Float32Array,
  rNorms: Float64Array,
  nr: number,
  d: number,
  out: Float64Array,
  stride: number = nr,
): void {
  if (stride < nr) throw new RangeError(`stride ${stride} is below the tile width ${nr}`);
  if (nq > 0 && out.length < (nq - 1) * stride + nr) {
    throw new RangeError(`distance tile holds ${out.length} values, needs ${(nq - 1) * stride + nr}`);
  }
  const f = Math.fround;
  const nq4 = nq - (nq % 4);
  const nr4 = nr - (nr % 4);
  for (let i = 0; i < nq4; i += 4) {
    const a0 = i * d;
    const a1 = a0 + d;
    const a2 = a1 + d;
    const a3 = a2 + d;
    const n0 = qNorms[i];
    const n1 = qNorms[i + 1];
    const n2 = qNorms[i + 2];
    const n3 = qNorms[i + 3];
    const o0 = i * stride;
    const o1 = o0 + stride;
    const o2 = o1 + stride;
    const o3 = o2 + stride;
    for (let j = 0; j < nr4; j += 4) {
      const b0 = j * d;
      const b1 = b0 + d;
      const b2 = b1 + d;
      const b3 = b2 + d;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      let s20 = 0;
      let s21 = 0;
      let s22 = 0;
      let s23 = 0;
      let s30 = 0;
      let s31 = 0;
      let s32 = 0;
      let s33 = 0;
      for (let t = 0; t < d; t++) {
        const x0 = r[b0 + t];
        const x1 = r[b1 + t];
        const x2 = r[b2 + t];
        const x3 = r[b3 + t];
        let v = q[a0 + t];
        s00 = f(s00 + f(v * x0));
        s01 = f(s01 + f(v * x1));
        s02 = f(s02 + f(v * x2));
        s03 = f(s03 + f(v * x3));
        v = q[a1 + t];
        s10 = f(s10 + f(v * x0));
        s11 = f(s11 + f(v * x1));
        s12 = f(s12 + f(v * x2));
        s13 = f(s13 + f(v * x3));
        v = q[a2 + t];
        s20 = f(s20 + f(v * x0));
        s21 = f(s21 + f(v * x1));
        s22 = f(s22 + f(v * x2));
        s23 = f(s23 + f(v * x3));
        v = q[a3 + t];
        s30 = f(s30 + f(v * x0));
        s31 = f(s31 + f(v * x1));
        s32 = f(s32 + f(v * x2));
        s33 = f(s33 + f(v * x3));
      }
      const m0 = rNorms[j];
      const m1 = rNorms[j + 1];
      const m2 = rNorms[j + 2];
      const m3 = rNorms[j + 3];
      out[o0 + j] = combineDot(n0, m0, s00);
      out[o0 + j + 1] = combineDot(n0, m1, s01);
      out[o0 + j + 2] = combineDot(n0, m2, s02);
      out[o0 + j + 3] = combineDot(n0, m3, s03);
      out[o1 + j] = combineDot(n1, m0, s10);
      out[o1 + j + 1] = combineDot(n1, m1, s11);
      out[o1 + j + 2] = combineDot(n1, m2, s12);
      out[o1 + j + 3] = combineDot(n1, m3, s13);
      out[o2 + j] = combineDot(n2, m0, s20);
      out[o2 + j + 1] = combineDot(n2, m1, s21);
      out[o2 + j + 2] = combineDot(n2, m2, s22);
      out[o2 + j + 3] = combineDot(n2, m3, s23);
      out[o3 + j] = combineDot(n3, m0, s30);
      out[o3 + j + 1] = combineDot(n3, m1, s31);
      out[o3 + j + 2] = combineDot(n3, m2, s32);
      out[o3 + j + 3] = combineDot(n3, m3, s33);
    }
    for (let j = nr4; j < nr; j++) {
      const b0 = j * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < d; t++) {
        const x0 = r[b0 + t];
        s0 = f(s0 + f(q[a0 + t] * x0));
        s1 = f(s1 + f(q[a1 + t] * x0));
        s2 = f(s2 + f(q[a2 + t] * x0));
        s3 = f(s3 + f(q[a3 + t] * x0));
      }
      const m0 = rNorms[j];
      out[o0 + j] = combineDot(n0, m0, s0);
      out[o1 + j] = combineDot(n1, m0, s1);
      out[o2 + j] = combineDot(n2, m0, s2);
      out[o3 + j] = combineDot(n3, m0, s3);
    }
  }
  for (let i = nq4; i < nq; i++) {
    const a0 = i * d;
    const n0 = qNorms[i];
    const o0 = i * stride;
    for (let j = 0; j < nr; j++) {
      const b0 = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) s = f(s + f(q[a0 + t] * r[b0 + t]));
      out[o0 + j] = combineDot(n0, rNorms[j], s);
    }
  }
}

/** Squared distance of row `i` of `a` and row `j` of `b` by the dot expansion, scalar reference. */
export function dotSquaredDistance(a: RowData, i: number, b: RowData, j: number, d: number): number {
  const f = Math.fround;
  const ai = i * d;
  const bj = j * d;
  let na = 0;
  let nb = 0;
  let dot = 0;
  for (let t = 0; t < d; t++) {
    const x = f(a[ai + t]);
    const y = f(b[bj + t]);
    na = f(na + f(x * x));
    nb = f(nb + f(y * y));
    dot = f(dot + f(x * y));
  }
  return combineDot(na, nb, dot);
}
