import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { FeatureScaling } from '../../lib/data/featureScaling.ts';
import { sklearnFixture } from '../support/sklearnFixtures.ts';
import { fixtureCsv, writeInput } from './support/datasets.ts';
import { parseLabels, ROOT, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * The pipeline with `--scale` on scikit-learn's bundled real data sets (test/fixtures/sklearn/real_*.json, written
 * by generate.py): label spreading on the standardised features against LabelSpreading on
 * StandardScaler().fit_transform(X). The features are jittered by 1e-4 standard deviations so that no kNN
 * distance tie decides a neighbour set (scikit-learn's tie order cannot be reproduced). The shards hold Float32,
 * so the transduction must be identical and the confidences within 1e-4.
 */

interface RealFixture {
  X: number[][];
  X_jitter: number[][];
  y: number[];
  y_self_training: number[];
  self_training: { transduction: number[]; labeled_iter: number[]; n_iter: number; termination_condition: string };
  scaling: Record<'standard' | 'robust', { center: number[]; scale: number[] }>;
  label_spreading: {
    params: { n_neighbors: number; alpha: number; max_iter: number; tol: number };
    transduction: number[];
    confidence: number[];
    n_iter: number;
  };
}

const REAL = ['iris', 'wine', 'breast_cancer', 'digits'];

function loadReal(name: string): RealFixture {
  return sklearnFixture<RealFixture>(`real_${name}`);
}

afterAll(removeTempDirs);

describe.each(REAL)('--scale on %s', (name) => {
  const fixture = loadReal(name);

  it('label spreading with --scale standard matches LabelSpreading on the standardised data', async () => {
    // Prepare
    const input = await writeInput(await tempDir(), `${name}.csv`, fixtureCsv(fixture.X_jitter, fixture.y));
    const { n_neighbors, alpha, max_iter, tol } = fixture.label_spreading.params;
    // Act
    const { labels, report } = await runPipeline(input, {
      method: 'label-spreading',
      scale: 'standard',
      neighbors: n_neighbors,
      alpha,
      maxIter: max_iter,
      tol,
      shards: 3,
      workers: 1,
    });
    // Assess
    const rows = parseLabels(labels);
    const expected = fixture.label_spreading;
    expect(rows.map((row) => row.label)).toEqual(expected.transduction.map(String));
    const worst = Math.max(...rows.map((row, i) => Math.abs(row.confidence - expected.confidence[i])));
    expect(worst, 'largest |confidence - max(label_distributions_ row)|').toBeLessThanOrEqual(1e-4);
    expect((report.convergence as { nIter: number }).nIter).toBe(expected.n_iter);
    expect((report.scaling as FeatureScaling).method).toBe('standard');
  });

  it('self-training with --scale standard matches SelfTrainingClassifier(max_iter=10) on the standardised data', async () => {
    // Prepare: --max-iter left to its default, which must be scikit-learn's 10
    const input = await writeInput(
      await tempDir(),
      `${name}.csv`,
      fixtureCsv(fixture.X_jitter, fixture.y_self_training),
    );
    // Act
    const { labels, report } = await runPipeline(input, {
      method: 'self-training',
      scale: 'standard',
      threshold: 0.75,
      shards: 3,
      workers: 1,
    });
    // Assess
    const expected = fixture.self_training;
    const rows = parseLabels(labels);
    const sources = rows.map((row) => row.source);
    const expectedSources = expected.labeled_iter.map((r) => (r === 0 ? 'given' : r > 0 ? 'pseudo' : 'none'));
    expect(sources).toEqual(expectedSources);
    const labelled = rows.flatMap((row, i) => (expected.labeled_iter[i] >= 0 ? [row.label] : []));
    expect(labelled).toEqual(expected.transduction.filter((c) => c !== -1).map(String));
    expect((report.parameters as { maxIter: number }).maxIter).toBe(10);
    const convergence = report.convergence as { nIter: number; terminationReason: string };
    expect({ nIter: convergence.nIter, terminationReason: convergence.terminationReason }).toEqual({
      nIter: expected.n_iter,
      terminationReason: expected.termination_condition,
    });
  });

  it('--scale robust records RobustScaler statistics in report.json', async () => {
    // Prepare
    const input = await writeInput(await tempDir(), `${name}.csv`, fixtureCsv(fixture.X, fixture.y));
    // Act
    const { report } = await runPipeline(input, { scale: 'robust', shards: 2, workers: 1 });
    // Assess
    const scaling = report.scaling as FeatureScaling;
    expect(scaling.method).toBe('robust');
    expect(scaling.center).toEqual(fixture.scaling.robust.center);
    const worst = Math.max(
      ...scaling.scale.map((s, j) => Math.abs(s - fixture.scaling.robust.scale[j]) / fixture.scaling.robust.scale[j]),
    );
    expect(worst).toBeLessThanOrEqual(1e-12);
  });
});

describe('the spread warning', () => {
  it('names --scale when unscaled feature spreads differ by more than 10x (wine)', async () => {
    // Prepare
    const fixture = loadReal('wine');
    const input = await writeInput(await tempDir(), 'wine.csv', fixtureCsv(fixture.X, fixture.y));
    // Act
    const unscaled = await runPipeline(input, { shards: 2, workers: 1 });
    const scaled = await runPipeline(input, { scale: 'standard', shards: 2, workers: 1 });
    // Assess
    const warnings = (report: Record<string, unknown>) => (report.warnings as string[]).join('\n');
    expect(warnings(unscaled.report)).toMatch(/feature spreads differ by [\d,.]+x.*--scale standard/);
    expect(warnings(scaled.report)).not.toContain('feature spreads');
  });
});

describe('the class-count warning', () => {
  it('calls out a label column of mostly single-label classes (a measurement), not wine classes', async () => {
    // Prepare: the labels of 60 rows replaced by their alcohol content (a measurement: over 30 distinct values)
    const fixture = loadReal('wine');
    const measured = fixture.X.map((row, i) => (i < 60 ? row[0] : -1));
    const classes = new Set(measured.filter((value) => value !== -1)).size;
    const dir = await tempDir();
    const asClasses = await writeInput(dir, 'wine.csv', fixtureCsv(fixture.X, fixture.y));
    const asMeasurement = await writeInput(dir, 'wine-alcohol.csv', fixtureCsv(fixture.X, measured));
    // Act
    const wine = await runPipeline(asClasses, { scale: 'standard', shards: 2, workers: 1 });
    const alcohol = await runPipeline(asMeasurement, { scale: 'standard', shards: 2, workers: 1 });
    // Assess
    expect(classes).toBeGreaterThan(30);
    expect(alcohol.report.warnings).toContain(
      `${classes} classes for 60 given labels: most classes have a single label. Is the label column a class ` +
        '(not a measurement or an id)? --label-column names another',
    );
    expect((wine.report.warnings as string[]).join('\n')).not.toContain('classes for');
  });
});

describe('--gamma auto and unreached rows (wine, unscaled: distances in the hundreds)', () => {
  it.each(['rbf', 'knn-rbf'] as const)(
    '%s: gamma 20 leaves rows unreached with a warning, auto reaches them',
    async (kernel) => {
      // Prepare
      const fixture = loadReal('wine');
      const input = await writeInput(await tempDir(), 'wine.csv', fixtureCsv(fixture.X, fixture.y));
      // Act
      const fixed = await runPipeline(input, { kernel, gamma: 20, shards: 2, workers: 1 });
      const auto = await runPipeline(input, { kernel, gamma: 'auto', shards: 2, workers: 1 });
      // Assess
      const n = fixture.X.length;
      const unreached = (report: Record<string, unknown>) => (report.unreached as { rows: number }).rows;
      const none = (labels: string) => parseLabels(labels).filter((row) => row.source === 'none').length;
      expect(unreached(fixed.report)).toBe(none(fixed.labels));
      expect(unreached(fixed.report)).toBeGreaterThan(0.1 * n);
      expect((fixed.report.warnings as string[]).join('\n')).toMatch(/gamma=20 left .* unreached.*--gamma auto/);
      expect(fixed.report.gamma).toEqual({ value: 20, auto: false });
      expect(unreached(auto.report)).toBe(none(auto.labels));
      expect(unreached(auto.report)).toBeLessThan(0.1 * n);
      const gamma = auto.report.gamma as { value: number; auto: boolean };
      expect(gamma.auto).toBe(true);
      expect(gamma.value).toBeGreaterThan(0);
      expect(gamma.value).toBeLessThan(0.01);
      expect((auto.report.parameters as { gamma: unknown }).gamma).toBe('auto');
    },
  );
});

describe('co-training from the CLI options', () => {
  it('labels beyond the given rows on the digits with its own defaults, the default views in the report', async () => {
    // Prepare: examples/digits.csv, 1,797 rows, 50 labels (threshold 0.95 proposed nothing here before)
    const input = `${ROOT}/examples/digits.csv`;
    // Act
    const { labels, report } = await runPipeline(input, {
      method: 'co-training',
      scale: 'standard',
      maxIter: 5,
      shards: 2,
      workers: 1,
    });
    // Assess
    const pseudo = parseLabels(labels).filter((row) => row.source === 'pseudo').length;
    expect(pseudo).toBeGreaterThan(200);
    const views = report.views as { a: string[]; b: string[]; byDefault: boolean };
    expect(views.byDefault).toBe(true);
    expect([views.a.length, views.b.length]).toEqual([32, 32]);
    expect((report.parameters as { threshold: number }).threshold).toBe(0.75);
  });

  it('takes --views by column name, and warns when a round proposes nothing', async () => {
    // Prepare
    const fixture = loadReal('wine');
    const input = await writeInput(await tempDir(), 'wine.csv', fixtureCsv(fixture.X, fixture.y));
    // Act
    const { report } = await runPipeline(input, {
      method: 'co-training',
      views: 'f0:f5;f6:f12',
      threshold: 0.999999,
      scale: 'standard',
      shards: 2,
      workers: 1,
    });
    // Assess
    const views = report.views as { a: string[]; b: string[]; byDefault: boolean };
    expect(views).toEqual({
      a: ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'],
      b: ['f6', 'f7', 'f8', 'f9', 'f10', 'f11', 'f12'],
      byDefault: false,
    });
    expect((report.warnings as string[]).join('\n')).toMatch(/co-training round \d+ proposed no row/);
  });
});

describe('--method auto', () => {
  it('searches the grid, runs its choice and lists every candidate in report.json and report.html', async () => {
    // Prepare
    const fixture = loadReal('wine');
    const input = await writeInput(await tempDir(), 'wine.csv', fixtureCsv(fixture.X, fixture.y));
    // Act
    const { report, out } = await runPipeline(input, { method: 'auto', shards: 2, workers: 1 });
    // Assess
    type Candidate = {
      method: string;
      scale: string;
      neighbors?: number;
      alpha?: number;
      score: number;
      brier: number;
      versusFallback?: { difference: number; standardError: number };
      versusBest?: { difference: number; standardError: number };
      agreement: number;
    };
    const auto = report.auto as { candidates: Candidate[]; chosen: Candidate; unlabelled: number };
    expect(auto.candidates).toHaveLength(20);
    for (const c of auto.candidates) {
      expect(c.brier).toBeGreaterThanOrEqual(auto.candidates[0].brier);
      expect(c.brier).toBeLessThanOrEqual(2);
    }
    // Every setting but the fallback carries its paired difference from it on the same labels.
    const fallbacks = auto.candidates.filter((c) => c.method === 'self-training' && c.scale === 'standard');
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0].versusFallback).toBeUndefined();
    for (const c of auto.candidates.filter((c) => c !== fallbacks[0])) {
      expect(c.versusFallback?.standardError).toBeGreaterThanOrEqual(0);
      expect(Math.abs(c.versusFallback?.difference ?? 3)).toBeLessThanOrEqual(2);
    }
    // Every candidate but the best carries its paired difference from the best, and its agreement on the unlabelled rows.
    expect(auto.candidates[0].versusBest).toBeUndefined();
    for (const c of auto.candidates.slice(1)) expect(c.versusBest?.difference).toBeLessThanOrEqual(0);
    for (const c of auto.candidates) expect(c.agreement).toBeGreaterThanOrEqual(0);
    expect(auto.unlabelled).toBe(fixture.y.filter((label) => label === -1).length);
    // Of the settings tied with the best Brier score (within 0.5 standard errors or 0.01), the one agreeing most with
    // the others; or self-training on standardised features when that one does not beat it clearly.
    const best = auto.chosen;
    expect(auto.candidates).toContainEqual(best);
    const tied = auto.candidates.filter(
      (c) => c.versusBest === undefined || -c.versusBest.difference <= Math.max(0.5 * c.versusBest.standardError, 0.01),
    );
    const mostAgreeing = Math.max(...tied.map((c) => c.agreement));
    if (!tied.some((c) => JSON.stringify(c) === JSON.stringify(best))) {
      expect(best).toMatchObject({ method: 'self-training', scale: 'standard' });
    } else {
      expect(best.agreement).toBe(mostAgreeing);
    }
    const parameters = report.parameters as { scale: string; neighbors: number; alpha: number };
    expect(report.method).toBe(best.method);
    expect(parameters.scale).toBe(best.scale);
    if (best.neighbors !== undefined) expect(parameters.neighbors).toBe(best.neighbors);
    if (best.alpha !== undefined) expect(parameters.alpha).toBe(best.alpha);
    expect(report.methodReason).toMatch(/best Brier score of 20 settings in 10 repeats/);
    const html = readFileSync(`${out}/report.html`, 'utf8');
    expect(html).toContain('Settings tried by --method auto');
    expect(html).toContain('vs self-training standardised (paired)');
    expect(html).toContain('Brier score');
    expect(html).toContain('agrees with the consensus');
  });
});
