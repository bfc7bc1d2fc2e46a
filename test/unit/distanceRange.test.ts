import { describe, expect, it } from 'vitest';
import { InputError } from '../../lib/errors.ts';
import { knnSearch } from '../../lib/graph/knnSearch.ts';
import { checkDistanceRange, largestDistanceFeature } from '../../lib/pipeline/neighbors/distanceRange.ts';

/** Two classes of rows, separated along feature 0, times `scale`. */
function twoClasses(n: number, d: number, scale: number): Float32Array {
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) data[i * d + t] = scale * ((t === 0 ? (i % 2) * 4 : 0) + ((i * 7 + t * 3) % 10) / 10);
  }
  return data;
}

describe('features too large for the Float32 distance kernels', () => {
  it('the limit is where the kernels stop finding the right neighbours', () => {
    // Prepare: the Float32 kernel (WebAssembly SIMD) that exact searches take from 20,000 rows
    const [n, d] = [2_000, 3];
    const limit = largestDistanceFeature(d);
    const sameClass = (scale: number) => {
      const X = { data: twoClasses(n, d, scale), n, d };
      const { indices } = knnSearch(X, X, 5, { kernel: 'wasm' });
      let same = 0;
      for (let j = 0; j < indices.length; j++) if (indices[j] % 2 === Math.floor(j / 5) % 2) same++;
      return same / indices.length;
    };
    // Act
    const within = sameClass(limit / 5);
    const beyond = sameClass(limit * 10);
    // Assess
    expect(within).toBe(1);
    expect(beyond).toBeLessThan(0.9);
  });

  it('refuses a column beyond the limit, naming it and the mend; passes one within it', () => {
    // Prepare
    const names = ['a', 'b', 'c'];
    const limit = largestDistanceFeature(3);
    const bounds = (high: number) => ({ low: Float32Array.of(-1, 0, 0), high: Float32Array.of(1, high, 1) });
    // Act
    const refusal = () => checkDistanceRange(bounds(limit * 2), names, 'data.csv', 'none');
    // Assess
    expect(refusal).toThrow(InputError);
    expect(refusal).toThrow(
      /^data\.csv: column "b" reaches 1\.07e\+19, beyond the 5\.33e\+18 .* or use --scale standard$/,
    );
    expect(() => checkDistanceRange(bounds(limit * 0.99), names, 'data.csv', 'none')).not.toThrow();
    expect(() => checkDistanceRange(bounds(Number.POSITIVE_INFINITY), names, 'data.csv', 'none')).not.toThrow();
  });
});
