import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FeatureMatrix, featureMatrix, fromRows } from '../../lib/data/featureMatrix.ts';
import { emptyKnnResult, type KnnResult, knnSearch, knnSelfSearch, mergeTopK } from '../../lib/graph/knnSearch.ts';
import { type Int16Codes, int16Codes } from '../../lib/linalg/int16Codes.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';
import { squaredDistance } from '../../lib/linalg/squaredDistances.ts';
import { clearTopK, offerTopK } from '../../lib/linalg/topK.ts';

function randomMatrix(n: number, d: number, seed: number, storage: 'f32' | 'f64' = 'f64'): FeatureMatrix {
  const rand = seededUniform(seed);
  const data = storage === 'f32' ? new Float32Array(n * d) : new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rand() * 2 - 1;
  return featureMatrix(data, n, d);
}

/** Small integer coordinates: many exact distance ties and exact duplicates. */
function gridMatrix(n: number, d: number, seed: number): FeatureMatrix {
  const rand = seededUniform(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 3);
  return featureMatrix(data, n, d);
}

/** Every pair, sorted by (distance, index): the definition knnSearch must meet. */
function bruteForce(query: FeatureMatrix, reference: FeatureMatrix, k: number, offset = 0): KnnResult {
  const out = emptyKnnResult(query.n, k);
  for (let q = 0; q < query.n; q++) {
    const all: [number, number][] = [];
    for (let r = 0; r < reference.n; r++) {
      all.push([squaredDistance(query.data, q, reference.data, r, query.d), r + offset]);
    }
    all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let s = 0; s < Math.min(k, all.length); s++) {
      out.distances[q * k + s] = all[s][0];
      out.indices[q * k + s] = all[s][1];
    }
  }
  return out;
}

function rowsOf(X: FeatureMatrix, start: number, end: number): FeatureMatrix {
  return featureMatrix(X.data.slice(start * X.d, end * X.d), end - start, X.d);
}

describe('knnSearch', () => {
  it('matches brute force on random doubles with tile remainders', () => {
    // Prepare
    const X = randomMatrix(301, 7, 1);
    const expected = bruteForce(X, X, 5);

    // Act
    const actual = knnSearch(X, X, 5, { queryBlock: 37, referenceBlock: 53 });

    // Assess
    expect(actual.indices).toEqual(expected.indices);
    expect(actual.distances).toEqual(expected.distances);
  });

  it('matches brute force on Float32 rows against a separate reference set', () => {
    // Prepare
    const query = randomMatrix(64, 16, 2, 'f32');
    const reference = randomMatrix(257, 16, 3, 'f32');
    const expected = bruteForce(query, reference, 10);

    // Act
    const actual = knnSearch(query, reference, 10, { queryBlock: 9, referenceBlock: 100 });

    // Assess
    expect(actual.indices).toEqual(expected.indices);
    expect(actual.distances).toEqual(expected.distances);
  });

  it('breaks exact distance ties by the lower index', () => {
    // Prepare: point 0 at the origin; points 1..4 all at squared distance 1 from it
    const X = fromRows([
      [0, 0],
      [0, 1],
      [1, 0],
      [0, -1],
      [-1, 0],
    ]);

    // Act
    const result = knnSearch(X, X, 3);

    // Assess
    expect(Array.from(result.indices.subarray(0, 3))).toEqual([0, 1, 2]);
    expect(Array.from(result.distances.subarray(0, 3))).toEqual([0, 1, 1]);
  });

  it('lists an identical point of lower index before the query point itself', () => {
    // Prepare: rows 0 and 1 identical, rows 2 and 3 identical (scikit-learn's duplicates test)
    const X = fromRows([
      [100, 100],
      [100, 100],
      [0, 0],
      [0, 0],
    ]);

    // Act
    const result = knnSearch(X, X, 1);

    // Assess
    expect(Array.from(result.indices)).toEqual([0, 0, 2, 2]);
    expect(Array.from(result.distances)).toEqual([0, 0, 0, 0]);
  });

  it('matches brute force on tie-heavy grids (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 17 }),
        fc.integer({ min: 1, max: 23 }),
        fc.nat(),
        (n, d, kWanted, qb, rb, seed) => {
          // Prepare
          const X = gridMatrix(n, d, seed);
          const k = Math.min(kWanted, n);

          // Act
          const actual = knnSearch(X, X, k, { queryBlock: qb, referenceBlock: rb });

          // Assess
          const expected = bruteForce(X, X, k);
          expect(actual.indices).toEqual(expected.indices);
          expect(actual.distances).toEqual(expected.distances);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives identical lists when the reference set is searched in blocks and merged', () => {
    // Prepare: ties included, so the merge order must not matter
    const X = gridMatrix(150, 3, 7);
    const k = 8;
    const whole = knnSearch(X, X, k);
    const cuts = [0, 40, 41, 110, 150];
    const parts = cuts
      .slice(1)
      .map((end, b) => knnSearch(X, rowsOf(X, cuts[b], end), k, { referenceOffset: cuts[b], allowPartial: true }));

    // Act
    const forward = parts.reduce((acc, part) => mergeTopK(acc, part));
    const backward = [...parts].reverse().reduce((acc, part) => mergeTopK(acc, part));
    const twice = mergeTopK(forward, parts[2]);

    // Assess
    for (const merged of [forward, backward, twice]) {
      expect(merged.indices).toEqual(whole.indices);
      expect(merged.distances).toEqual(whole.distances);
    }
  });

  it('continues existing lists block by block with `into`', () => {
    // Prepare
    const X = randomMatrix(120, 5, 11);
    const k = 6;
    const whole = knnSearch(X, X, k);
    const state = emptyKnnResult(X.n, k);

    // Act: blocks in reverse order, to exercise lower-index replacement at equal distance
    for (const [start, end] of [
      [90, 120],
      [30, 90],
      [0, 30],
    ]) {
      knnSearch(X, rowsOf(X, start, end), k, { referenceOffset: start, into: state });
    }

    // Assess
    expect(state.indices).toEqual(whole.indices);
    expect(state.distances).toEqual(whole.distances);
  });

  it('leaves empty slots for a block smaller than k only when asked to', () => {
    // Prepare
    const X = randomMatrix(5, 2, 5);
    const block = rowsOf(X, 0, 2);

    // Act
    const partial = knnSearch(X, block, 3, { allowPartial: true });

    // Assess
    expect(partial.indices[2]).toBe(-1);
    expect(partial.distances[2]).toBe(Number.POSITIVE_INFINITY);
    expect(() => knnSearch(X, block, 3)).toThrow(/k=3 neighbours among 2 reference rows/);
  });

  it("with given codes covering the rows, the 'wasm' lists of codes made from them; refuses rows they do not cover", () => {
    // Prepare: codes made for a wider range (a run's, over all its rows) than the rows searched here
    const query = randomMatrix(300, 8, 21, 'f32');
    const reference = randomMatrix(2500, 8, 22, 'f32');
    const wider = int16Codes(8, [Float32Array.from({ length: 16 }, (_, i) => (i < 8 ? -3 : 3))]) as Int16Codes;
    const narrow = int16Codes(8, [Float32Array.from({ length: 16 }, (_, i) => (i < 8 ? 0 : 0.5))]) as Int16Codes;

    // Act
    const own = knnSearch(query, reference, 7, { kernel: 'wasm' });
    const given = knnSearch(query, reference, 7, { kernel: 'wasm', codes: wider });

    // Assess
    expect(given).toEqual(own);
    expect(() => knnSearch(query, reference, 7, { kernel: 'wasm', codes: narrow })).toThrow(/outside the range/);
  });

  it('rejects invalid arguments', () => {
    // Prepare
    const X = randomMatrix(5, 2, 5);
    const Y = randomMatrix(5, 3, 6);

    // Act / Assess
    expect(() => knnSearch(X, X, 0)).toThrow(RangeError);
    expect(() => knnSearch(X, X, 1.5)).toThrow(RangeError);
    expect(() => knnSearch(X, Y, 1)).toThrow(/features/);
    expect(() => knnSearch(X, X, 2, { referenceOffset: -1 })).toThrow(RangeError);
    expect(() => knnSearch(X, X, 2, { into: emptyKnnResult(4, 2) })).toThrow(/into/);
    expect(() => mergeTopK(emptyKnnResult(3, 2), emptyKnnResult(3, 3))).toThrow(RangeError);
  });
});

describe('knnSelfSearch', () => {
  it('equals knnSearch(X, X) on random rows, each distance computed once', () => {
    // Prepare
    const X = randomMatrix(211, 9, 21, 'f32');
    const expected = knnSearch(X, X, 7);

    // Act
    const actual = knnSelfSearch(X, 7, { block: 50 });

    // Assess
    expect(actual.indices).toEqual(expected.indices);
    expect(actual.distances).toEqual(expected.distances);
  });

  it('equals brute force on tie-heavy grids (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 19 }),
        fc.nat(),
        (n, d, kWanted, block, seed) => {
          // Prepare
          const X = gridMatrix(n, d, seed);
          const k = Math.min(kWanted, n);

          // Act
          const actual = knnSelfSearch(X, k, { block });

          // Assess
          const expected = bruteForce(X, X, k);
          expect(actual.indices).toEqual(expected.indices);
          expect(actual.distances).toEqual(expected.distances);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses k above n', () => {
    // Prepare
    const X = randomMatrix(4, 2, 1);

    // Act / Assess
    expect(() => knnSelfSearch(X, 5)).toThrow(/k=5 neighbours among 4 rows/);
  });
});

describe('offerTopK', () => {
  it('keeps the k first by (distance, index) whatever the offer order, ignoring repeats', () => {
    // Prepare
    const candidates: [number, number][] = [
      [3, 9],
      [1, 7],
      [1, 2],
      [5, 0],
      [1, 4],
      [0.5, 8],
      [1, 2],
      [3, 1],
    ];
    const distances = new Float64Array(4);
    const indices = new Int32Array(4);
    clearTopK(distances, indices);

    // Act
    for (const [d, i] of candidates) offerTopK(distances, indices, 0, 4, d, i);

    // Assess
    expect(Array.from(indices)).toEqual([8, 2, 4, 7]);
    expect(Array.from(distances)).toEqual([0.5, 1, 1, 1]);
  });
});
