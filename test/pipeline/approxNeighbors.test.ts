import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultNlist } from '../../lib/graph/ivf/ivfModel.ts';
import { seededRandom, writeInput } from './support/datasets.ts';
import { ROOT, type RunOutput, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * Approximate neighbours (IVF: cells task, calibrate step, neighbors task probing cells): the same labels for
 * every shard count, close to the exact run's labels, and a fall-back to exact search on data without
 * cluster structure, where IVF would have to probe most cells.
 */

const DIGITS = join(ROOT, 'examples/digits.csv');

afterAll(removeTempDirs);

function labelColumn(labels: string): string[] {
  return labels
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',')[1]);
}

describe('examples/digits.csv with --neighbors-mode approx', () => {
  const runs: RunOutput[] = [];
  let exact: RunOutput;

  beforeAll(async () => {
    for (const shards of [1, 3, 8]) runs.push(await runPipeline(DIGITS, { neighborsMode: 'approx', shards }));
    exact = await runPipeline(DIGITS, { neighborsMode: 'exact', shards: 3 });
  });

  it('searches IVF cells with the nprobe calibrated for recall@k >= 0.95', () => {
    // Prepare
    const { neighbors } = runs[0].report as { neighbors: Record<string, unknown> };
    // Act
    const { mode, nlist, nprobe, estimatedRecall } = neighbors as {
      mode: string;
      nlist: number;
      nprobe: number;
      estimatedRecall: number;
    };
    // Assess
    expect(mode).toBe('approx');
    expect(nlist).toBe(defaultNlist(1797));
    expect(nprobe).toBeGreaterThanOrEqual(1);
    expect(nprobe).toBeLessThan(nlist / 3);
    expect(estimatedRecall).toBeGreaterThanOrEqual(0.95);
    expect(runs[0].record.timings).toHaveProperty('calibrate');
  });

  it.each([
    { index: 1, shards: 3 },
    { index: 2, shards: 8 },
  ])('$shards shards: labels.csv byte-identical to the 1-shard run', ({ index, shards }) => {
    // Prepare
    const reference = runs[0].labels;
    // Act
    const { labels } = runs[index];
    // Assess
    expect(runs[index].record.shards).toBe(shards);
    expect(labels === reference, 'labels.csv differs byte for byte').toBe(true);
  });

  // Measured: 96.0% with 21 cells, nprobe 2, recall 0.960 on all rows (97.7% with 85 cells, when nlist was
  // 2 sqrt(n)); a broken search agrees far less.
  it('agrees with the exact run on at least 95% of the labels (measured: 96.0%)', () => {
    // Prepare
    const approximate = labelColumn(runs[0].labels);
    const exactLabels = labelColumn(exact.labels);
    // Act
    const agreeing = approximate.filter((label, i) => label === exactLabels[i]).length;
    // Assess
    expect(approximate.length).toBe(1797);
    expect(agreeing / approximate.length).toBeGreaterThanOrEqual(0.95);
    expect((exact.report.neighbors as { mode: string }).mode).toBe('exact');
  });
});

describe('uniform noise (no cluster structure) with --neighbors-mode approx', () => {
  let approximate: RunOutput;
  let exact: RunOutput;

  beforeAll(async () => {
    const random = seededRandom(11);
    const d = 24;
    const lines = [`id,label,${Array.from({ length: d }, (_, j) => `f${j}`).join(',')}`];
    for (let i = 0; i < 2500; i++) {
      const features = Array.from({ length: d }, () => random().toFixed(4));
      const label = i < 20 ? String(i % 2) : '';
      lines.push(`r${i},${label},${features.join(',')}`);
    }
    const input = await writeInput(await tempDir(), 'uniform.csv', `${lines.join('\n')}\n`);
    approximate = await runPipeline(input, { neighborsMode: 'approx', shards: 2 });
    exact = await runPipeline(input, { neighborsMode: 'exact', shards: 2 });
  });

  it('falls back to exact search, says why, and gives the exact labels', () => {
    // Prepare
    const neighbors = approximate.report.neighbors as { mode: string; reason: string };
    // Act
    const same = approximate.labels === exact.labels;
    // Assess
    expect(neighbors.mode).toBe('exact');
    expect(neighbors.reason).toMatch(/^IVF needs \d+ of \d+ cells for recall 0.95/);
    expect(same, 'labels.csv differs from the exact run').toBe(true);
  });
});
