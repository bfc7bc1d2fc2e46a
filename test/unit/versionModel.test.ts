import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { knnSearch } from '../../lib/graph/knnSearch.ts';
import { rowNormsOf } from '../../lib/linalg/dotDistances.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';
import { packArrays } from '../../lib/pipeline/binaryArrays.ts';
import type { VersionIvf } from '../../lib/pipeline/datasets/versionIvf.ts';
import { partFile, predictProba, type VersionModel } from '../../lib/pipeline/datasets/versionModel.ts';
import type { RangeCellsPart } from '../../lib/pipeline/neighbors/ivfObjects.ts';
import { exactKernelFor } from '../../lib/pipeline/neighbors/neighborsPlan.ts';
import { type PropagationCase, type PropagationFixture, propagationFixtures } from '../support/sklearnFixtures.ts';

/**
 * `pseudolabel predict` labels new rows from a dataset version's model part by part (versionModel.ts). It must give
 * scikit-learn's BaseLabelPropagation.predict_proba: here the model is made from each fixture's X and scikit-learn's
 * own label_distributions_, split into parts of unequal size, and compared with its predict_proba on the held-out
 * rows (test/fixtures/generate.py: fit_propagation).
 */
const fixtures = propagationFixtures();

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** Writes a model of X and F in three parts (about a half, a third, the rest) under `model/`. */
async function storedModel(
  fixture: PropagationFixture,
  c: PropagationCase,
): Promise<{ store: FilesystemObjectStore; model: VersionModel }> {
  const root = await mkdtemp(join(tmpdir(), 'version-model-'));
  roots.push(root);
  const store = new FilesystemObjectStore(root);
  const n = fixture.X.length;
  const d = fixture.X[0].length;
  const k = c.classes.length;
  const cuts = [0, Math.ceil(n / 2), Math.ceil((5 * n) / 6), n];
  const parts: number[] = [];
  for (let p = 0; p < 3; p++) {
    const rows = fixture.X.slice(cuts[p], cuts[p + 1]);
    const F = c.label_distributions.slice(cuts[p], cuts[p + 1]);
    await store.put(
      `model/${partFile(p)}`,
      packArrays([Float32Array.from(rows.flat()), Float64Array.from(F.flat(), (value) => value ?? Number.NaN)]),
    );
    parts.push(rows.length);
  }
  const model: VersionModel = {
    method: c.model === 'LabelSpreading' ? 'label-spreading' : 'label-propagation',
    kernel: c.params.kernel,
    neighbors: c.params.n_neighbors,
    gamma: c.params.gamma,
    classes: c.classes.map(String),
    featureNames: Array.from({ length: d }, (_, j) => `f${j}`),
    parts,
    labelColumn: 'label',
    idColumn: 'id',
    format: 'csv',
  };
  expect(k).toBe(model.classes.length);
  return { store, model };
}

describe('predict from a version model matches scikit-learn predict_proba', () => {
  for (const fixture of fixtures) {
    for (const [index, c] of fixture.propagation.entries()) {
      it(`${fixture.name} #${index} ${c.model} kernel=${c.params.kernel} k=${c.params.n_neighbors} gamma=${c.params.gamma}`, async () => {
        // Prepare
        const { store, model } = await storedModel(fixture, c);
        const X = { data: Float32Array.from(c.predict_X.flat()), n: c.predict_X.length, d: c.predict_X[0].length };

        // Act
        const proba = await predictProba(store, 'model/', model, X);

        // Assess
        const k = c.classes.length;
        for (let i = 0; i < X.n; i++) {
          for (let j = 0; j < k; j++) {
            const expected = c.predict_proba[i][j];
            if (expected === null) expect(Number.isNaN(proba[i * k + j])).toBe(true);
            else expect(Math.abs(proba[i * k + j] - expected)).toBeLessThan(1e-4);
          }
        }
      });
    }
  }
});

describe('predict from a large model', () => {
  it('searches with the Float32 kernel from 20,000 rows and finds the float64 search neighbours', async () => {
    // Prepare: 24,000 training rows in two parts, 5 classes, and 400 new rows; a seeded random model
    const random = seededUniform(12);
    const d = 8;
    const k = 5;
    const parts = [13_000, 11_000];
    const n = parts[0] + parts[1];
    const train = Float32Array.from({ length: n * d }, () => random() * 10);
    const F = Float64Array.from({ length: n * k }, () => random());
    const root = await mkdtemp(join(tmpdir(), 'version-model-'));
    roots.push(root);
    const store = new FilesystemObjectStore(root);
    for (let p = 0, offset = 0; p < parts.length; offset += parts[p++]) {
      const rows = train.subarray(offset * d, (offset + parts[p]) * d);
      await store.put(`model/${partFile(p)}`, packArrays([rows, F.subarray(offset * k, (offset + parts[p]) * k)]));
    }
    const model: VersionModel = {
      method: 'label-spreading',
      kernel: 'knn',
      neighbors: 7,
      gamma: 20,
      classes: ['a', 'b', 'c', 'd', 'e'],
      featureNames: Array.from({ length: d }, (_, j) => `f${j}`),
      parts,
      labelColumn: 'label',
      idColumn: 'id',
      format: 'csv',
    };
    const X = { data: Float32Array.from({ length: 400 * d }, () => random() * 10), n: 400, d };

    // Act
    const proba = await predictProba(store, 'model/', model, X);

    // Assess: the normalised sum of the distributions of the 7 nearest rows by float64 distance
    expect(exactKernelFor(n)).toBe('wasm');
    const nearest = knnSearch(X, { data: train, n, d }, 7, { kernel: 'direct' });
    for (let i = 0; i < X.n; i++) {
      const sum = new Float64Array(k);
      for (let j = 0; j < 7; j++) for (let c = 0; c < k; c++) sum[c] += F[nearest.indices[i * 7 + j] * k + c];
      const total = sum.reduce((a, b) => a + b, 0);
      for (let c = 0; c < k; c++) expect(proba[i * k + c]).toBeCloseTo(sum[c] / total, 12);
    }
  });
});

describe('predict through a version IVF index', () => {
  it('searches exactly a row whose probed cells hold fewer than k rows', async () => {
    // Prepare: 23 rows in two cells, cell 0 holding 3 (near 0) and cell 1 holding 20 (near 10); 1 probe a row,
    // k = 5: a new row near 0 probes cell 0 alone, too few rows for its list
    const d = 2;
    const train = Float32Array.from([
      ...[0, 0, 0.5, 0, 0, 0.5],
      ...Array.from({ length: 20 }, (_, i) => [10 + i * 0.1, 10]).flat(),
    ]);
    const n = train.length / d;
    const F = Float64Array.from({ length: n * 2 }, (_, j) => (j >> 1 < 3 ? [1, 0] : [0, 1])[j & 1]);
    const root = await mkdtemp(join(tmpdir(), 'version-model-'));
    roots.push(root);
    const store = new FilesystemObjectStore(root);
    await store.put(`model/${partFile(0)}`, packArrays([train, F]));
    const model: VersionModel = {
      method: 'label-spreading',
      kernel: 'knn',
      neighbors: 5,
      gamma: 20,
      classes: ['near', 'far'],
      featureNames: ['f0', 'f1'],
      parts: [n],
      labelColumn: 'label',
      idColumn: 'id',
      format: 'csv',
    };
    const members = Int32Array.from({ length: n }, (_, i) => i);
    const part: RangeCellsPart = {
      offsets: Int32Array.from([0, 3, n]),
      members,
      vectors: train,
      norms: rowNormsOf(train, n, d),
      words: new Int32Array(0),
      nearestWidth: 0,
      nearest: new Int32Array(0),
    };
    const ivf: VersionIvf = {
      model: { d, nlist: 2, centroids: Float32Array.from([0.2, 0.2, 11, 10]), nprobe: 1 },
      ranges: { count: 1, rangeOf: Int32Array.from([0, 0]) },
      nprobe: 1,
      readRange: async () => [part],
    };
    const X = { data: Float32Array.from([0.1, 0.1, 11, 10]), n: 2, d };

    // Act
    const [withIndex, exact] = await Promise.all([
      predictProba(store, 'model/', model, X, ivf),
      predictProba(store, 'model/', model, X),
    ]);

    // Assess: the first row's 5 nearest are its cell's 3 and 2 of cell 1 (3/5 near); the second's all far
    expect(Array.from(withIndex)).toEqual(Array.from(exact));
    expect(withIndex[0]).toBeCloseTo(0.6, 12);
    expect(withIndex[3]).toBe(1);
  });
});
