import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FeatureMatrix, featureMatrix } from '../../lib/data/featureMatrix.ts';
import { assignCells, buildIvfCells, ivfCellSizes, mergeIvfCells } from '../../lib/graph/ivf/ivfIndex.ts';
import { ivfKnn } from '../../lib/graph/ivf/ivfKnn.ts';
import { decodeIvfModel, encodeIvfModel, type IvfModel } from '../../lib/graph/ivf/ivfModel.ts';
import { calibrationSeed, inIvfSample, ivfSampleRate, ivfSampleRows } from '../../lib/graph/ivf/ivfSample.ts';
import { ivfSearch } from '../../lib/graph/ivf/ivfSearch.ts';
import { trainIvf } from '../../lib/graph/ivf/ivfTrain.ts';
import { kmeans } from '../../lib/graph/ivf/kmeans.ts';
import {
  type CalibrationLists,
  calibrateNprobe,
  calibrationPartial,
  mergeCalibrationLists,
  nprobeForRecall,
  probeRecallCurve,
} from '../../lib/graph/ivf/nprobeCalibration.ts';
import { cellsToRead, nearestCells, probeCells } from '../../lib/graph/ivf/probeCells.ts';
import { type KnnResult, knnSearch } from '../../lib/graph/knnSearch.ts';
import { dotSquaredDistance } from '../../lib/linalg/dotDistances.ts';
import {
  codesFromArray,
  codesToArray,
  encodeRows,
  FeatureRange,
  type Int16Codes,
  int16Codes,
  sameCodes,
} from '../../lib/linalg/int16Codes.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';

/** 10 classes, each spread along a 4-dimensional random subspace of R^d plus small noise (low intrinsic dim). */
function clustered(n: number, d: number, seed: number): FeatureMatrix {
  const random = seededUniform(seed);
  const gauss = () => {
    let u = 0;
    while (u === 0) u = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const classes = 10;
  const rank = 4;
  const centres = Float64Array.from({ length: classes * d }, () => 3 * gauss());
  const bases = Float64Array.from({ length: classes * rank * d }, () => gauss() / 2);
  const data = new Float32Array(n * d);
  const z = new Float64Array(rank);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(random() * classes);
    for (let r = 0; r < rank; r++) z[r] = gauss();
    for (let t = 0; t < d; t++) {
      let v = centres[c * d + t] + 0.05 * gauss();
      for (let r = 0; r < rank; r++) v += z[r] * bases[(c * rank + r) * d + t];
      data[i * d + t] = v;
    }
  }
  return featureMatrix(data, n, d);
}

function rowsOf(X: FeatureMatrix, start: number, end: number): FeatureMatrix {
  return featureMatrix(X.data.slice(start * X.d, end * X.d), end - start, X.d);
}

function recallAtK(approx: KnnResult, exact: KnnResult): number {
  const { k } = exact;
  let found = 0;
  for (let i = 0; i < exact.n; i++) {
    const mine = new Set(approx.indices.subarray(i * k, i * k + k));
    for (let s = 0; s < k; s++) if (mine.has(exact.indices[i * k + s])) found++;
  }
  return found / (exact.n * k);
}

/** The whole sharded flow: sample per shard, train, lists per shard, search per query batch. */
function shardedIvf(X: FeatureMatrix, k: number, cuts: number[], batches: number[], seed = 0): KnnResult {
  const nlist = 60;
  const rate = ivfSampleRate(X.n, nlist);
  const shards = cuts.slice(1).map((end, s) => ({ first: cuts[s], X: rowsOf(X, cuts[s], end) }));
  // (a) each shard's sample rows, concatenated in global order, then the reducer trains
  const picked = shards.map((s) => ivfSampleRows(s.X, s.first, rate, seed).X);
  const sampleData = new Float32Array(picked.reduce((sum, p) => sum + p.data.length, 0));
  let at = 0;
  for (const p of picked) {
    sampleData.set(p.data, at);
    at += p.data.length;
  }
  const sample = featureMatrix(sampleData, sampleData.length / X.d, X.d);
  const trained = trainIvf(sample, { n: X.n, nlist, seed }).model;
  // (b) each shard's inverted lists and calibration partials; their reducer calibrates nprobe
  const parts = shards.map((s) => buildIvfCells(trained, s.X, s.first));
  const queries = ivfSampleRows(X, 0, 0.1, calibrationSeed(seed)).X;
  const partials = shards.map((s) => calibrationPartial(trained, queries, s.X, s.first, k));
  const merged = partials.reduce((a, b) => mergeCalibrationLists(a, b));
  const model = decodeIvfModel(encodeIvfModel(calibrateNprobe(trained, queries, merged, 0.95).model));
  // (c) each search task: its query rows, their probes, the cells they need
  const out = new Int32Array(X.n * k);
  for (let b = 0; b + 1 < batches.length; b++) {
    const queries = rowsOf(X, batches[b], batches[b + 1]);
    const { probes } = probeCells(model, queries);
    const lists = ivfSearch(queries, probes, parts, k);
    out.set(lists.indices, batches[b] * k);
  }
  return { n: X.n, k, indices: out, distances: new Float64Array(0) };
}

describe('IVF approximate kNN', () => {
  it('reaches recall@10 >= 0.95 on clustered data with default parameters', () => {
    // Prepare
    const X = clustered(4000, 16, 1);
    const exact = knnSearch(X, X, 10, { kernel: 'wasm' });

    // Act
    const { result, model } = ivfKnn(X, 10);

    // Assess
    expect(recallAtK(result, exact)).toBeGreaterThanOrEqual(0.95);
    expect(model.nprobe).toBeLessThan(model.nlist / 2);
  });

  it('finds every row itself at distance 0, with the exact distances of the found neighbours', () => {
    // Prepare
    const X = clustered(1500, 8, 2);
    const k = 5;

    // Act
    const { result } = ivfKnn(X, k, { nprobe: 8 });

    // Assess
    for (let i = 0; i < X.n; i++) {
      expect(result.indices[i * k]).toBe(i);
      expect(result.distances[i * k]).toBe(0);
      for (let s = 1; s < k; s++) {
        const j = result.indices[i * k + s];
        expect(result.distances[i * k + s]).toBe(dotSquaredDistance(X.data, i, X.data, j, X.d));
      }
    }
  });

  it('gives the same lists and model for the same seed, another model for another seed', () => {
    // Prepare
    const X = clustered(2000, 12, 3);

    // Act
    const first = ivfKnn(X, 8, { seed: 5 });
    const second = ivfKnn(X, 8, { seed: 5 });
    const other = ivfKnn(X, 8, { seed: 6 });

    // Assess
    expect(second.model.centroids).toEqual(first.model.centroids);
    expect(second.model.nprobe).toBe(first.model.nprobe);
    expect(second.result.indices).toEqual(first.result.indices);
    expect(second.result.distances).toEqual(first.result.distances);
    expect(other.model.centroids).not.toEqual(first.model.centroids);
  });

  it('does not depend on how rows are sharded or how queries are batched', () => {
    // Prepare
    const X = clustered(2400, 10, 4);
    const k = 6;
    const reference = shardedIvf(X, k, [0, 2400], [0, 2400]);

    // Act
    const sharded = shardedIvf(X, k, [0, 700, 701, 1900, 2400], [0, 1, 333, 1000, 2399, 2400]);
    const batched = shardedIvf(X, k, [0, 1200, 2400], [0, 64, 128, 2400]);

    // Assess
    expect(sharded.indices).toEqual(reference.indices);
    expect(batched.indices).toEqual(reference.indices);
  });

  it('searches the cells of several parts as those of one merged part, whatever the part order', () => {
    // Prepare
    const X = clustered(900, 6, 5);
    const model = trainIvf(X, { n: X.n, nlist: 20, nprobe: 3 }).model;
    const parts = [buildIvfCells(model, rowsOf(X, 0, 300), 0), buildIvfCells(model, rowsOf(X, 300, 900), 300)];
    const { probes } = probeCells(model, X);

    // Act
    const merged = mergeIvfCells([parts[1], parts[0]]);
    const whole = buildIvfCells(model, X, 0);
    const fromParts = ivfSearch(X, probes, parts, 4, { queryBlock: 7, referenceBlock: 5 });
    const fromMerged = ivfSearch(X, probes, [merged], 4);

    // Assess
    expect(merged).toEqual(whole);
    expect(fromParts.indices).toEqual(fromMerged.indices);
    expect(fromParts.distances).toEqual(fromMerged.distances);
  });

  it("uses the run's codes and the parts' code words made with them: the same lists as codes of its own", () => {
    // Prepare: the run's codes over all rows, one part coded with them, the other with other codes
    const X = clustered(900, 6, 7);
    const model = trainIvf(X, { n: X.n, nlist: 20, nprobe: 3 }).model;
    const range = new FeatureRange(X.d);
    range.add(X.data.subarray(0, 300 * X.d));
    range.add(X.data.subarray(300 * X.d));
    const codes = range.codes() as Int16Codes;
    const [first, second] = [
      buildIvfCells(model, rowsOf(X, 0, 300), 0),
      buildIvfCells(model, rowsOf(X, 300, 900), 300),
    ];
    const own = int16Codes(X.d, [first.vectors]) as Int16Codes;
    const parts = [
      { ...first, coded: { codes, words: encodeRows(codes, first.vectors, first.members.length) } },
      // words under other codes: not the run's, so coded again rather than used
      { ...second, coded: { codes: own, words: new Int32Array(second.members.length * own.pairs) } },
    ];
    const { probes } = probeCells(model, X);

    // Act
    const plain = ivfSearch(X, probes, [first, second], 5);
    const withCodes = ivfSearch(X, probes, parts, 5, { codes });

    // Assess
    expect(codes).toEqual(int16Codes(X.d, [X.data]));
    expect(sameCodes(codesFromArray(codesToArray(codes)), codes)).toBe(true);
    expect(sameCodes(own, codes)).toBe(false);
    expect(withCodes.indices).toEqual(plain.indices);
    expect(withCodes.distances).toEqual(plain.distances);
  });

  it('continues given lists as merging them with a separate search would, without changing them', () => {
    // Prepare: the first probe of every row, then the other two, against all three at once
    const X = clustered(700, 5, 8);
    const model = trainIvf(X, { n: X.n, nlist: 16, nprobe: 3 }).model;
    const cells = buildIvfCells(model, X, 0);
    const { probes } = probeCells(model, X);
    const firstProbe = new Int32Array(X.n);
    const otherProbes = new Int32Array(X.n * 2);
    for (let i = 0; i < X.n; i++) {
      firstProbe[i] = probes[i * 3];
      otherProbes.set(probes.subarray(i * 3 + 1, i * 3 + 3), i * 2);
    }
    const first = ivfSearch(X, firstProbe, [cells], 6);
    const before = { indices: first.indices.slice(), distances: first.distances.slice() };

    // Act
    const continued = ivfSearch(X, otherProbes, [cells], 6, { continuing: first, queryBlock: 9 });
    const atOnce = ivfSearch(X, probes, [cells], 6);

    // Assess
    expect(continued.indices).toEqual(atOnce.indices);
    expect(continued.distances).toEqual(atOnce.distances);
    expect(first.indices).toEqual(before.indices);
    expect(first.distances).toEqual(before.distances);
    expect(() => ivfSearch(X, otherProbes, [cells], 5, { continuing: first })).toThrow(/continuing lists/);
  });

  it('leaves empty slots when the probed cells hold fewer than k rows', () => {
    // Prepare: two far groups of 3 rows, 2 cells, 1 probe
    const X = featureMatrix(new Float32Array([0, 0, 0, 1, 1, 0, 100, 100, 100, 101, 101, 100]), 6, 2);
    const model: IvfModel = { d: 2, nlist: 2, nprobe: 1, centroids: new Float32Array([0, 0, 100, 100]) };
    const cells = buildIvfCells(model, X);

    // Act
    const result = ivfSearch(X, probeCells(model, X).probes, [cells], 4);

    // Assess
    expect(Array.from(result.indices.subarray(0, 4))).toEqual([0, 1, 2, -1]);
    expect(result.distances[3]).toBe(Number.POSITIVE_INFINITY);
  });

  it('probes extra cells, nearest first, for rows whose cells hold fewer than minMembers', () => {
    // Prepare: cells of 3, 1 and 3 rows along a line; 1 probe each
    const X = featureMatrix(new Float32Array([0, 1, 2, 10, 20, 21, 22]), 7, 1);
    const model: IvfModel = { d: 1, nlist: 3, nprobe: 1, centroids: new Float32Array([1, 10, 21]) };
    const cells = buildIvfCells(model, X);

    // Act
    const probed = probeCells(model, X, { minMembers: 4, cellSizes: ivfCellSizes([cells]) });
    const result = ivfSearch(X, probed.probes, [cells], 4);

    // Assess: row 3 (cell 1, 1 member) adds cell 0 (distance 81, before cell 2 at 121) and stops at 4 members
    expect(probed.width).toBe(2);
    expect(Array.from(probed.probes)).toEqual([0, 1, 0, 1, 0, 1, 1, 0, 2, 1, 2, 1, 2, 1]);
    expect(Array.from(probeCells({ ...model, nprobe: 2 }, X).probes.subarray(6, 8))).toEqual([1, 0]);
    expect(result.indices.every((j) => j >= 0)).toBe(true);
    expect(Array.from(result.indices.subarray(12, 16))).toEqual([3, 2, 1, 0]);
  });
});

describe('IVF parts', () => {
  it('k-means finds well separated clusters and their centres', () => {
    // Prepare: 3 tight groups around (0,0), (10,0), (0,10)
    const random = seededUniform(7);
    const centres = [
      [0, 0],
      [10, 0],
      [0, 10],
    ];
    const data = new Float32Array(300 * 2);
    for (let i = 0; i < 300; i++) {
      data[2 * i] = centres[i % 3][0] + (random() - 0.5) * 0.1;
      data[2 * i + 1] = centres[i % 3][1] + (random() - 0.5) * 0.1;
    }

    // Act
    const result = kmeans(featureMatrix(data, 300, 2), { nClusters: 3, seed: 1 });

    // Assess
    const found = Array.from({ length: 3 }, (_, c) => [result.centroids[2 * c], result.centroids[2 * c + 1]]);
    for (const [x, y] of centres) {
      expect(found.some(([a, b]) => Math.abs(a - x) < 0.05 && Math.abs(b - y) < 0.05)).toBe(true);
    }
    expect(result.converged).toBe(true);
  });

  it('k-means copes with fewer distinct rows than clusters and rejects bad sizes', () => {
    // Prepare: 6 rows, 2 distinct
    const X = featureMatrix(new Float32Array([1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 5, 5]), 6, 2);

    // Act
    const result = kmeans(X, { nClusters: 4 });

    // Assess
    expect(result.centroids.length).toBe(8);
    expect(Number.isFinite(result.inertia)).toBe(true);
    expect(result.inertia).toBe(0);
    expect(() => kmeans(X, { nClusters: 7 })).toThrow(/7 clusters of 6 rows/);
    expect(() => kmeans(X, { nClusters: 0 })).toThrow(RangeError);
  });

  it('probe lists are the nprobe nearest cells by (distance, cell) and contain the assigned cell', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.nat(), (nlist, want, seed) => {
        // Prepare: integer centroids, so distances tie often
        const random = seededUniform(seed);
        const d = 3;
        const centroids = Float32Array.from({ length: nlist * d }, () => Math.floor(random() * 3));
        const model: IvfModel = { d, nlist, nprobe: Math.min(want, nlist), centroids };
        const X = featureMatrix(
          Float32Array.from({ length: 20 * d }, () => Math.floor(random() * 4)),
          20,
          d,
        );

        // Act
        const { probes, nearest } = probeCells(model, X);

        // Assess
        const assigned = assignCells(model, X);
        const { nprobe } = model;
        for (let i = 0; i < X.n; i++) {
          const order = Array.from({ length: nlist }, (_, c) => c).sort(
            (a, b) =>
              dotSquaredDistance(X.data, i, centroids, a, d) - dotSquaredDistance(X.data, i, centroids, b, d) || a - b,
          );
          const expected = [order[0], ...order.slice(1, nprobe).sort((a, b) => a - b)];
          expect(Array.from(probes.subarray(i * nprobe, i * nprobe + nprobe))).toEqual(expected);
          expect(nearest[i]).toBe(order[0]);
          expect(assigned[i]).toBe(order[0]);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('gives the same probe lists from kept nearest cells, extras included, and searches anew when too few are kept', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 25 }), fc.integer({ min: 1, max: 8 }), fc.nat(), (nlist, kept, seed) => {
        // Prepare: integer data, so distances tie often; minMembers makes some rows probe extra cells
        const random = seededUniform(seed);
        const d = 3;
        const centroids = Float32Array.from({ length: nlist * d }, () => Math.floor(random() * 3));
        const X = featureMatrix(
          Float32Array.from({ length: 40 * d }, () => Math.floor(random() * 4)),
          40,
          d,
        );
        const base: IvfModel = { d, nlist, nprobe: 1, centroids };
        const cellSizes = ivfCellSizes([buildIvfCells(base, X)]);
        const nearest = nearestCells(base, X, Math.min(kept, nlist));

        for (let nprobe = 1; nprobe <= Math.min(nlist, 10); nprobe++) {
          // Act
          const model = { ...base, nprobe };
          const fresh = probeCells(model, X, { minMembers: 6, cellSizes });
          const reused = probeCells(model, X, { minMembers: 6, cellSizes, nearest });

          // Assess
          expect(reused.width).toBe(fresh.width);
          expect(reused.probes).toEqual(fresh.probes);
          expect(reused.nearest).toEqual(fresh.nearest);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('lists the cells to read once each, ascending', () => {
    // Prepare
    const probes = new Int32Array([4, 1, 1, -1, 0, 4]);

    // Act
    const cells = cellsToRead(probes, 6);

    // Assess
    expect(Array.from(cells)).toEqual([0, 1, 4]);
  });

  it('samples rows by global index alone', () => {
    // Prepare
    const X = clustered(1000, 2, 8);
    const rate = 0.1;

    // Act
    const whole = ivfSampleRows(X, 0, rate, 3);
    const tail = ivfSampleRows(rowsOf(X, 400, 1000), 400, rate, 3);

    // Assess
    expect(Array.from(tail.indices)).toEqual(Array.from(whole.indices).filter((g) => g >= 400));
    expect(whole.X.n).toBeGreaterThan(60);
    expect(whole.X.n).toBeLessThan(140);
    expect(whole.indices.every((g) => inIvfSample(g, rate, 3))).toBe(true);
    expect(ivfSampleRate(100, 10)).toBe(1);
  });

  it('calibrates nprobe from the cells of true neighbours', () => {
    // Prepare: cells at x = 0, 10, 20; the query at x = 1, its 4 neighbours in cells 0 and 1
    const model: IvfModel = { d: 1, nlist: 3, nprobe: 1, centroids: new Float32Array([0, 10, 20]) };
    const queries = featureMatrix(new Float32Array([1]), 1, 1);
    const lists: CalibrationLists = {
      n: 1,
      k: 4,
      indices: new Int32Array([0, 1, 2, 3]),
      distances: new Float64Array([1, 2, 3, 4]),
      cells: new Int32Array([0, 0, 1, 1]),
    };

    // Act
    const curve = probeRecallCurve(model, queries, lists);
    const calibrated = calibrateNprobe(model, queries, lists, 0.5);

    // Assess
    expect(Array.from(curve)).toEqual([0.5, 1, 1]);
    expect(nprobeForRecall(curve, 0.5)).toBe(1);
    expect(nprobeForRecall(curve, 0.95)).toBe(2);
    expect(calibrated.model.nprobe).toBe(2); // 0.5 + the default margin
  });

  it('predicts the recall that the search then reaches', () => {
    // Prepare
    const X = clustered(3000, 12, 9);
    const k = 8;
    const model = trainIvf(X, { n: X.n, nlist: 40 }).model;
    const queries = rowsOf(X, 0, 300);
    const lists = calibrationPartial(model, queries, X, 0, k);
    const curve = probeRecallCurve(model, queries, lists);

    // Act
    const recalls = [1, 3, 6].map((nprobe) => {
      const found = ivfSearch(queries, probeCells({ ...model, nprobe }, queries).probes, [buildIvfCells(model, X)], k);
      return recallAtK(found, lists);
    });

    // Assess: the same 300 queries, so the prediction is exact
    expect(recalls).toEqual([curve[0], curve[2], curve[5]]);
    expect(curve[0]).toBeLessThan(1);
  });

  it('merges calibration partials of shards into the lists of one search, in any order', () => {
    // Prepare
    const X = clustered(1200, 6, 10);
    const model = trainIvf(X, { n: X.n, nlist: 30 }).model;
    const queries = rowsOf(X, 100, 150);
    const whole = calibrationPartial(model, queries, X, 0, 5);
    const parts = [
      calibrationPartial(model, queries, rowsOf(X, 0, 500), 0, 5),
      calibrationPartial(model, queries, rowsOf(X, 500, 503), 500, 5),
      calibrationPartial(model, queries, rowsOf(X, 503, 1200), 503, 5),
    ];

    // Act
    const forward = parts.reduce((a, b) => mergeCalibrationLists(a, b));
    const backward = [...parts].reverse().reduce((a, b) => mergeCalibrationLists(a, b));

    // Assess
    for (const merged of [forward, backward, mergeCalibrationLists(forward, parts[0])]) {
      expect(merged.indices).toEqual(whole.indices);
      expect(merged.distances).toEqual(whole.distances);
      expect(merged.cells).toEqual(whole.cells);
    }
  });

  it('round-trips the model through a Float32Array and rejects inconsistent ones', () => {
    // Prepare
    const model: IvfModel = { d: 2, nlist: 3, nprobe: 2, centroids: new Float32Array([1, 2, 3, 4, 5, 6]) };

    // Act
    const decoded = decodeIvfModel(encodeIvfModel(model));

    // Assess
    expect(decoded).toEqual(model);
    expect(() => encodeIvfModel({ ...model, nprobe: 4 })).toThrow(/nprobe/);
    expect(() => decodeIvfModel(new Float32Array([2, 1, 1, 1, 0]))).toThrow(/format/);
  });
});
