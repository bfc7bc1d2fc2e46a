import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { packArrays } from '../../lib/pipeline/binaryArrays.ts';
import { partFile, predictProba, type VersionModel } from '../../lib/pipeline/datasets/versionModel.ts';
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
