import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyKnnResult } from '../../lib/graph/knnSearch.ts';
import { CandidateTiles } from '../../lib/linalg/candidateTiles.ts';
import { distanceTiles } from '../../lib/linalg/distanceTiles.ts';
import { dotSquaredDistance, rowNormsOf } from '../../lib/linalg/dotDistances.ts';
import { candidateBound, codeNorm, encodeRows, type Int16Codes, int16Codes } from '../../lib/linalg/int16Codes.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';

/** n x d rows: centre + spread * U(-1, 1), or small integers (ties and duplicates) when `grid`. */
function rows(n: number, d: number, seed: number, centre = 0, spread = 1, grid = false): Float32Array {
  const rand = seededUniform(seed);
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = grid ? Math.floor(rand() * 3) : centre + spread * (rand() * 2 - 1);
  return data;
}

/** The integer q.r of two coded rows. */
function codeDot(a: Int32Array, i: number, b: Int32Array, j: number, pairs: number): number {
  let s = 0;
  for (let u = 0; u < pairs; u++) {
    const x = a[i * pairs + u];
    const y = b[j * pairs + u];
    s += ((x << 16) >> 16) * ((y << 16) >> 16) + (x >> 16) * (y >> 16);
  }
  return s;
}

describe('int16Codes', () => {
  it('codes each feature within half a scale step of its value (odd d: the last word has a zero upper half)', () => {
    // Prepare
    const d = 7;
    const data = rows(50, d, 1, 3, 2);
    const codes = int16Codes(d, [data]) as Int16Codes;

    // Act
    const words = encodeRows(codes, data, 50);

    // Assess
    expect(codes.pairs).toBe(4);
    for (let i = 0; i < 50; i++) {
      for (let t = 0; t < d; t++) {
        const word = words[i * codes.pairs + (t >> 1)];
        const code = t % 2 === 0 ? (word << 16) >> 16 : word >> 16;
        expect(Math.abs(code)).toBeLessThanOrEqual(codes.limit);
        expect(Math.abs(data[i * d + t] - codes.centre[t] - code * codes.scale)).toBeLessThanOrEqual(
          (codes.scale / 2) * 1.01,
        );
      }
      expect(words[i * codes.pairs + 3] >> 16).toBe(0);
    }
  });

  it('keeps |r|^2 - 2 q.r inside int32 at the largest codes', () => {
    // Prepare
    const d = 64;
    const codes = int16Codes(d, [rows(10, d, 2)]) as Int16Codes;
    const extreme = new Float32Array(2 * d);
    for (let t = 0; t < d; t++) {
      extreme[t] = codes.centre[t] + codes.limit * codes.scale;
      extreme[d + t] = codes.centre[t] - codes.limit * codes.scale;
    }

    // Act
    const words = encodeRows(codes, extreme, 2);
    const norm = codeNorm(words, 0, codes.pairs);

    // Assess
    expect(norm + 2 * codeDot(words, 0, words, 0, codes.pairs)).toBeLessThan(2 ** 31);
    expect(norm - 2 * codeDot(words, 0, words, 0, codes.pairs)).toBeGreaterThanOrEqual(-(2 ** 31));
  });

  it('refuses a row outside the coded range, and values that are not finite', () => {
    // Prepare
    const d = 3;
    const codes = int16Codes(d, [rows(5, d, 3)]) as Int16Codes;
    const outside = new Float32Array([0, 0, 100]);

    // Act
    const encode = () => encodeRows(codes, outside, 1);

    // Assess
    expect(encode).toThrow(/a row in \[0, 1\) lies outside the range/);
    expect(int16Codes(d, [new Float32Array([0, Number.NaN, 1])])).toBeUndefined();
    expect(int16Codes(d, [new Float32Array([0, Number.POSITIVE_INFINITY, 1])])).toBeUndefined();
  });

  it('flags every pair whose f32 distance is within the bound, ties and far centres included (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(0, 1000, -3e5),
        fc.constantFrom(1e-3, 1, 50),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        (d, centre, spread, grid, seed) => {
          // Prepare: the bound is the distance of one pair, so equality is exercised.
          const n = 40;
          const data = rows(n, d, seed, centre, spread, grid);
          const codes = int16Codes(d, [data]) as Int16Codes;
          const words = encodeRows(codes, data, n);
          const norms = rowNormsOf(data, n, d);
          let maxNorm = 0;
          for (const norm of norms) maxNorm = Math.max(maxNorm, norm);
          const q = seed % n;
          const bound = dotSquaredDistance(data, q, data, (seed * 7 + 3) % n, d);

          // Act
          const limit = candidateBound(codes, bound, norms[q], maxNorm, codeNorm(words, q * codes.pairs, codes.pairs));

          // Assess
          for (let r = 0; r < n; r++) {
            if (dotSquaredDistance(data, q, data, r, d) > bound) continue;
            const value = codeNorm(words, r * codes.pairs, codes.pairs) - 2 * codeDot(words, q, words, r, codes.pairs);
            expect(value).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('CandidateTiles', () => {
  /**
   * Offers query rows `queryRows` against reference rows [r0, r1) of `data` to lists that already hold the
   * offers of rows [0, r0) for even query rows only (odd ones start empty), by CandidateTiles and by the 'wasm'
   * kernel's tiles.
   */
  function bothWays(data: Float32Array, n: number, d: number, r0: number, r1: number, withCodes: boolean) {
    const k = 5;
    const queryRows = Int32Array.from({ length: n }, (_, i) => (i * 7) % n);
    const lists = Int32Array.from({ length: n }, (_, i) => i);
    const norms = rowNormsOf(data, n, d);
    const references = Int32Array.from({ length: r1 - r0 }, (_, j) => r0 + j);
    const referenceRows = data.slice(r0 * d, r1 * d);
    const referenceNorms = norms.slice(r0, r1);
    const codes = withCodes ? int16Codes(d, [data]) : undefined;
    const words = codes === undefined ? undefined : encodeRows(codes, data, n);
    const referenceWords = words?.slice(r0 * (codes as Int16Codes).pairs, r1 * (codes as Int16Codes).pairs);
    const results = [emptyKnnResult(n, k), emptyKnnResult(n, k)];
    const seed = distanceTiles('wasm', d, n, Math.max(1, r0));
    if (r0 > 0) {
      const even = Int32Array.from({ length: Math.ceil(n / 2) }, (_, i) => 2 * i);
      seed.setReference(data, 0, r0, norms);
      seed.setQueryRows(data, even, 0, even.length, norms);
      for (const result of results) {
        seed.computeAndOffer(
          even,
          Int32Array.from({ length: r0 }, (_, j) => j),
          k,
          result.distances,
          result.indices,
        );
      }
    }
    const candidates = new CandidateTiles(d, 8, r1 - r0, codes);
    const exact = distanceTiles('wasm', d, 8, r1 - r0);
    candidates.setReference(referenceRows, referenceWords, r1 - r0, referenceNorms);
    exact.setReference(referenceRows, 0, r1 - r0, referenceNorms);
    for (let t0 = 0; t0 < n; t0 += 8) {
      const t1 = Math.min(n, t0 + 8);
      candidates.setQueryRows(data, words, queryRows, t0, t1, norms);
      candidates.computeAndOffer(lists.subarray(t0, t1), references, k, results[0].distances, results[0].indices);
      exact.setQueryRows(data, queryRows, t0, t1, norms);
      exact.computeAndOffer(lists.subarray(t0, t1), references, k, results[1].distances, results[1].indices);
    }
    return { candidates: results[0], exact: results[1] };
  }

  it('gives the same lists, bit for bit, as offering every pair of the wasm kernel (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 60 }),
        fc.constantFrom(0, 500),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        (d, before, block, centre, grid, seed) => {
          // Prepare
          const n = 37;
          const r0 = Math.min(before, n - 1);
          const r1 = Math.min(n, r0 + block);
          const data = rows(n, d, seed, centre, 1, grid);

          // Act
          const { candidates, exact } = bothWays(data, n, d, r0, r1, true);

          // Assess
          expect(candidates.indices).toEqual(exact.indices);
          expect(candidates.distances).toEqual(exact.distances);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('without codes, runs the wasm kernel alone and gives the same lists', () => {
    // Prepare
    const n = 37;
    const d = 9;
    const data = rows(n, d, 4);

    // Act
    const { candidates, exact } = bothWays(data, n, d, 10, n, false);

    // Assess
    expect(candidates.indices).toEqual(exact.indices);
    expect(candidates.distances).toEqual(exact.distances);
    expect(Array.from(candidates.indices.subarray(0, 5)).every((index) => index >= 0)).toBe(true);
  });
});
