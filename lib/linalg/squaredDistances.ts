/**
 * Blocked squared euclidean distances between row blocks, the inner kernel of exact kNN and of the rbf kernel.
 *
 * Rows are first packed into Float64Array scratch blocks (one conversion per row and tile, so the hot loop is
 * monomorphic and reads doubles), then every pair is computed as a direct sum of squared differences,
 * accumulated in double precision in feature order. Unlike the expanded form ||x||^2 - 2 x.y + ||y||^2 used
 * by scikit-learn's brute-force backend, the direct sum is exactly 0 for identical rows, never negative, and
 * the value of a pair does not depend on which tile or micro-tile computed it: results are bit-identical for
 * every blocking, which the shard-count determinism of exact kNN relies on.
 */

/** Rows stored row-major with `d` values each, as in FeatureMatrix. */
export type RowData = Float32Array | Float64Array;

/** Copies rows [start, end) of `src` (d values per row) into `dst` from offset 0, converting to double. */
export function packRows(src: RowData, d: number, start: number, end: number, dst: Float64Array): void {
  const count = (end - start) * d;
  if (count > dst.length) throw new RangeError(`pack buffer holds ${dst.length} values, needs ${count}`);
  const base = start * d;
  for (let p = 0; p < count; p++) dst[p] = src[base + p];
}

/**
 * out[i * nr + j] = sum_t (q[i*d + t] - r[j*d + t])^2 for i < nq, j < nr, over packed blocks `q` (nq rows)
 * and `r` (nr rows). Register-blocked 4 query rows x 2 reference rows; remainders use the same per-pair
 * summation order, so every entry equals the plain scalar loop bit for bit.
 */
export function squaredDistancesPacked(
  q: Float64Array,
  nq: number,
  r: Float64Array,
  nr: number,
  d: number,
  out: Float64Array,
): void {
  if (out.length < nq * nr) throw new RangeError(`distance tile holds ${out.length} values, needs ${nq * nr}`);
  const nq4 = nq - (nq % 4);
  const nr2 = nr - (nr % 2);
  for (let i = 0; i < nq4; i += 4) {
    const a0 = i * d;
    const a1 = a0 + d;
    const a2 = a1 + d;
    const a3 = a2 + d;
    const o0 = i * nr;
    const o1 = o0 + nr;
    const o2 = o1 + nr;
    const o3 = o2 + nr;
    for (let j = 0; j < nr2; j += 2) {
      const b0 = j * d;
      const b1 = b0 + d;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let t = 0; t < d; t++) {
        const x0 = r[b0 + t];
        const x1 = r[b1 + t];
        const v0 = q[a0 + t];
        const v1 = q[a1 + t];
        const v2 = q[a2 + t];
        const v3 = q[a3 + t];
        let e = v0 - x0;
        s00 += e * e;
        e = v0 - x1;
        s01 += e * e;
        e = v1 - x0;
        s10 += e * e;
        e = v1 - x1;
        s11 += e * e;
        e = v2 - x0;
        s20 += e * e;
        e = v2 - x1;
        s21 += e * e;
        e = v3 - x0;
        s30 += e * e;
        e = v3 - x1;
        s31 += e * e;
      }
      out[o0 + j] = s00;
      out[o0 + j + 1] = s01;
      out[o1 + j] = s10;
      out[o1 + j + 1] = s11;
      out[o2 + j] = s20;
      out[o2 + j + 1] = s21;
      out[o3 + j] = s30;
      out[o3 + j + 1] = s31;
    }
    for (let j = nr2; j < nr; j++) {
      const b0 = j * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < d; t++) {
        const x0 = r[b0 + t];
        let e = q[a0 + t] - x0;
        s0 += e * e;
        e = q[a1 + t] - x0;
        s1 += e * e;
        e = q[a2 + t] - x0;
        s2 += e * e;
        e = q[a3 + t] - x0;
        s3 += e * e;
      }
      out[o0 + j] = s0;
      out[o1 + j] = s1;
      out[o2 + j] = s2;
      out[o3 + j] = s3;
    }
  }
  for (let i = nq4; i < nq; i++) {
    const a0 = i * d;
    const o0 = i * nr;
    for (let j = 0; j < nr; j++) {
      const b0 = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const e = q[a0 + t] - r[b0 + t];
        s += e * e;
      }
      out[o0 + j] = s;
    }
  }
}

/** Squared euclidean distance between row `i` of `a` and row `j` of `b` (d values each), scalar reference. */
export function squaredDistance(a: RowData, i: number, b: RowData, j: number, d: number): number {
  const ai = i * d;
  const bj = j * d;
  let s = 0;
  for (let t = 0; t < d; t++) {
    const e = a[ai + t] - b[bj + t];
    s += e * e;
  }
  return s;
}
