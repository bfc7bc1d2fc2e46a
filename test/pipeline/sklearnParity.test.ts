import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOptionsInput } from '../../lib/pipeline/runOptions.ts';
import { type PropagationCase, type PropagationFixture, sklearnFixture } from '../support/sklearnFixtures.ts';
import { fixtureCsv, writeInput } from './support/datasets.ts';
import { parseLabels, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * The sharded pipeline (3 shards, CSV in, labels.csv out) against scikit-learn's LabelPropagation and
 * LabelSpreading on the committed fixtures (test/fixtures/sklearn, written by generate.py). The pipeline stores
 * features as Float32, so only the transduction must be identical; confidences are compared to
 * max(label_distributions_) within 1e-4. A row no label reaches is reported as label '' source 'none' where
 * scikit-learn says class 0 (docs/ARCHITECTURE.md): for those rows scikit-learn's distribution must be all zero.
 */

const CONFIDENCE_TOLERANCE = 1e-4;

function optionsOf(c: PropagationCase): RunOptionsInput {
  const { kernel, gamma, n_neighbors, alpha, max_iter, tol } = c.params;
  return {
    method: c.model === 'LabelSpreading' ? 'label-spreading' : 'label-propagation',
    kernel,
    neighbors: n_neighbors,
    gamma,
    ...(alpha === null ? {} : { alpha }),
    maxIter: max_iter,
    tol,
    shards: 3,
    workers: 1,
  };
}

function caseName(c: PropagationCase): string {
  const { kernel, gamma, n_neighbors } = c.params;
  return `${c.model} ${kernel} ${kernel === 'knn' ? `n_neighbors=${n_neighbors}` : `gamma=${gamma}`}`;
}

afterAll(removeTempDirs);

describe.each(['classification', 'iris'])('the pipeline matches scikit-learn on the %s fixture', (name) => {
  const fixture = sklearnFixture<PropagationFixture>(name);
  let input = '';

  beforeAll(async () => {
    input = await writeInput(await tempDir(), `${name}.csv`, fixtureCsv(fixture.X, fixture.y));
  });

  it.each(fixture.propagation.map((c) => ({ c, label: caseName(c) })))('$label', async ({ c }) => {
    // Prepare
    const options = optionsOf(c);
    // Act
    const { labels, report, record } = await runPipeline(input, options);
    // Assess
    expect(record.shards).toBe(3);
    const rows = parseLabels(labels);
    expect(rows.map((row) => row.id)).toEqual(fixture.X.map((_, i) => String(i)));
    const wrongLabels: string[] = [];
    let worstConfidence = 0;
    const unreachedWithMass: string[] = [];
    for (const row of rows) {
      const i = Number(row.id);
      const distribution = c.label_distributions[i].map((p) => p ?? Number.NaN);
      if (row.source === 'none') {
        if (distribution.some((p) => p !== 0)) unreachedWithMass.push(`${i}: ${distribution.join(' ')}`);
        continue;
      }
      if (row.label !== String(c.transduction[i])) wrongLabels.push(`${i}: ${row.label} vs ${c.transduction[i]}`);
      worstConfidence = Math.max(worstConfidence, Math.abs(row.confidence - Math.max(...distribution)));
    }
    expect(wrongLabels, 'rows labelled differently from transduction_').toEqual([]);
    expect(worstConfidence, 'largest |confidence - max(label_distributions_ row)|').toBeLessThanOrEqual(
      CONFIDENCE_TOLERANCE,
    );
    expect(unreachedWithMass, "rows reported 'none' that scikit-learn reached").toEqual([]);
    const convergence = report.convergence as { nIter: number; converged: boolean };
    expect({ nIter: convergence.nIter, converged: convergence.converged }).toEqual({
      nIter: c.n_iter,
      converged: c.converged,
    });
  });
});
