/**
 * A dense n x n weighted graph, row-major doubles (scikit-learn's dense affinity for kernel='rbf').
 * Only for small n: see rbfKernel's memory guard.
 */
export interface DenseGraph {
  readonly n: number;
  readonly data: Float64Array;
}

/**
 * out = A Y for A n x n dense and Y, out n x k row-major doubles (out must not alias Y). Each entry is one
 * dot product summed in column order; rows and classes go in pairs so each load feeds two products.
 */
export function denseMultiply(graph: DenseGraph, Y: Float64Array, k: number, out: Float64Array): void {
  const { n, data } = graph;
  if (Y.length < n * k || out.length < n * k) throw new RangeError(`operands need ${n}x${k} values`);
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const r0 = i * n;
    const r1 = r0 + n;
    const o0 = i * k;
    const o1 = o0 + k;
    let c = 0;
    for (; c + 1 < k; c += 2) {
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let j = 0, src = c; j < n; j++, src += k) {
        const y0 = Y[src];
        const y1 = Y[src + 1];
        const w0 = data[r0 + j];
        const w1 = data[r1 + j];
        s00 += w0 * y0;
        s01 += w0 * y1;
        s10 += w1 * y0;
        s11 += w1 * y1;
      }
      out[o0 + c] = s00;
      out[o0 + c + 1] = s01;
      out[o1 + c] = s10;
      out[o1 + c + 1] = s11;
    }
    for (; c < k; c++) {
      let s0 = 0;
      let s1 = 0;
      for (let j = 0, src = c; j < n; j++, src += k) {
        const y = Y[src];
        s0 += data[r0 + j] * y;
        s1 += data[r1 + j] * y;
      }
      out[o0 + c] = s0;
      out[o1 + c] = s1;
    }
  }
  for (; i < n; i++) {
    const r0 = i * n;
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0, src = c; j < n; j++, src += k) s += data[r0 + j] * Y[src];
      out[i * k + c] = s;
    }
  }
}
