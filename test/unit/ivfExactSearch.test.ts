import { describe, expect, it } from 'vitest';
import { type FeatureMatrix, featureMatrix } from '../../lib/data/featureMatrix.ts';
import { exactListsOverCells } from '../../lib/graph/ivf/ivfExactSearch.ts';
import { buildIvfCells } from '../../lib/graph/ivf/ivfIndex.ts';
import { trainIvf } from '../../lib/graph/ivf/ivfTrain.ts';
import { calibrationPartial, mergeCalibrationLists } from '../../lib/graph/ivf/nprobeCalibration.ts';
import { knnSearch } from '../../lib/graph/knnSearch.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';

/** n rows: `clusters` tight Gaussian clusters (spread `spread`) around uniform centres in [0, 10)^d. */
function clusteredRows(n: number, d: number, clusters: number, spread: number, seed: number): FeatureMatrix {
  const random = seededUniform(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Float64Array.from({ length: clusters * d }, () => 10 * random());
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(random() * clusters);
    for (let t = 0; t < d; t++) data[i * d + t] = centres[c * d + t] + spread * gauss();
  }
  return featureMatrix(data, n, d);
}

function rowsAt(X: FeatureMatrix, picks: number[]): FeatureMatrix {
  const data = new Float32Array(picks.length * X.d);
  picks.forEach((row, i) => {
    data.set(X.data.subarray(row * X.d, (row + 1) * X.d), i * X.d);
  });
  return featureMatrix(data, picks.length, X.d);
}

describe('exactListsOverCells', () => {
  it.each([
    ['tight clusters (most cells skipped)', clusteredRows(3000, 16, 12, 0.3, 1), 60],
    ['one broad cloud (few cells skipped)', clusteredRows(2000, 24, 1, 3, 2), 40],
    [
      'repeated rows (ties at distance 0)',
      rowsAt(
        clusteredRows(300, 8, 3, 0.5, 3),
        [...Array(900).keys()].map((i) => i % 300),
      ),
      20,
    ],
  ])('gives the exact lists of knnSearch, ties included: %s', (_, X, nlist) => {
    // Prepare
    const model = trainIvf(X, { n: X.n, nlist, seed: 0 }).model;
    const cells = buildIvfCells(model, X, 0);
    const queries = rowsAt(
      X,
      [...Array(150).keys()].map((i) => (i * 37) % X.n),
    );
    const k = 10;

    // Act
    const lists = exactListsOverCells(model, queries, cells, k);
    const scanning = exactListsOverCells(model, queries, cells, k, { X, firstIndex: 0 });

    // Assess
    const exact = knnSearch(queries, X, k, { kernel: 'wasm' });
    expect(lists.indices).toEqual(exact.indices);
    expect(lists.distances).toEqual(exact.distances);
    // With the rows in order, a second pass that would read most pairs scans them all: the same lists.
    expect(scanning.indices).toEqual(exact.indices);
    expect(scanning.distances).toEqual(exact.distances);
  });

  it.each([
    ['tight clusters', clusteredRows(3000, 16, 12, 0.3, 5), 60],
    ['one broad cloud', clusteredRows(2000, 24, 1, 3, 6), 40],
  ])(
    'with limits from earlier rows, lists only nearer rows; merged, the exact lists of all rows: %s',
    (_, X, nlist) => {
      // Prepare: the first 70% of the rows are an earlier version (their exact lists give the limits), the rest
      // are added; their calibration part is searched below the limits
      const model = trainIvf(X, { n: X.n, nlist, seed: 0 }).model;
      const old = Math.floor(0.7 * X.n);
      const oldRows = rowsAt(X, [...Array(old).keys()]);
      const added = rowsAt(
        X,
        [...Array(X.n - old).keys()].map((i) => old + i),
      );
      const queries = rowsAt(
        X,
        [...Array(150).keys()].map((i) => (i * 37) % X.n),
      );
      const k = 10;
      const before = calibrationPartial(model, queries, oldRows, 0, k);
      const limits = Float64Array.from({ length: queries.n }, (_, q) => before.distances[q * k + k - 1]);

      // Act
      const part = calibrationPartial(model, queries, added, old, k, undefined, { limits });
      const unlimited = calibrationPartial(model, queries, added, old, k);

      // Assess: the part holds exactly the unlimited part's rows nearer than the limit, and merging it gives the
      // exact lists over all rows
      for (let q = 0; q < queries.n; q++) {
        const row = (lists: { indices: Int32Array; distances: Float64Array }) =>
          [...lists.indices.subarray(q * k, (q + 1) * k)].filter(
            (i, j) => i >= 0 && lists.distances[q * k + j] < limits[q],
          );
        expect([...part.indices.subarray(q * k, (q + 1) * k)].filter((i) => i >= 0)).toEqual(row(unlimited));
      }
      const merged = mergeCalibrationLists(before, part);
      const exact = knnSearch(queries, X, k, { kernel: 'wasm' });
      expect(merged.indices).toEqual(exact.indices);
      expect(merged.distances).toEqual(exact.distances);
      expect([...part.indices].filter((i) => i < 0).length).toBeGreaterThan(0);
    },
  );

  it('with limits, a part of fewer rows than k leaves empty slots', () => {
    // Prepare: 3 added rows, k = 5, limits above every distance (nothing dropped) and at 0 (everything dropped)
    const X = clusteredRows(400, 6, 4, 0.5, 7);
    const model = trainIvf(X, { n: X.n, nlist: 20, seed: 0 }).model;
    const few = rowsAt(X, [3, 90, 200]);
    const queries = rowsAt(X, [0, 1, 2, 3]);
    const limits = (value: number) => ({ limits: new Float64Array(queries.n).fill(value) });

    // Act
    const open = calibrationPartial(model, queries, few, 7, 5, undefined, limits(Number.POSITIVE_INFINITY));
    const closed = calibrationPartial(model, queries, few, 7, 5, undefined, limits(0));

    // Assess
    const exact = knnSearch(queries, few, 5, { kernel: 'wasm', referenceOffset: 7, allowPartial: true });
    expect(open.indices).toEqual(exact.indices);
    expect(open.distances).toEqual(exact.distances);
    expect([...closed.indices].every((i) => i === -1)).toBe(true);
  });

  it('leaves empty slots when the rows are fewer than k, as knnSearch with allowPartial', () => {
    // Prepare
    const X = clusteredRows(400, 6, 4, 0.5, 4);
    const model = trainIvf(X, { n: X.n, nlist: 20, seed: 0 }).model;
    const few = rowsAt(X, [3, 90, 200]);
    const queries = rowsAt(X, [0, 1, 2, 3]);

    // Act
    const lists = calibrationPartial(model, queries, few, 7, 5);

    // Assess
    const exact = knnSearch(queries, few, 5, { kernel: 'wasm', referenceOffset: 7, allowPartial: true });
    expect(lists.indices).toEqual(exact.indices);
    expect(lists.distances).toEqual(exact.distances);
    expect(Array.from(lists.cells.subarray(0, 5)).filter((c) => c < 0)).toHaveLength(2);
  });
});
