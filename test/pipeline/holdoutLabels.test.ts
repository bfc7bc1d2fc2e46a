import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOptionsInput } from '../../lib/pipeline/runOptions.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import { parseLabels, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * `--holdout` only gives a verdict: its repeated splits run in the collect step, and the labels the run publishes
 * come from every given label, so labels.csv is the same with and without it.
 */

afterAll(removeTempDirs);

describe('a holdout hides no given label from the published run', () => {
  let input = '';

  beforeAll(async () => {
    const rows = blobRows({ n: 300, d: 3, labelledPerClass: 6, seed: 23, spread: 2.4 });
    input = await writeInput(await tempDir(), 'blobs.csv', csvText(rows));
  });

  it.each<[string, RunOptionsInput]>([
    ['label spreading', { method: 'label-spreading' }],
    ['self-training, 3 shards', { method: 'self-training', shards: 3 }],
    ['auto', { method: 'auto' }],
  ])(
    '%s: the same labels.csv with --holdout 0.3, every given row given',
    async (_name, options) => {
      // Prepare / Act
      const plain = await runPipeline(input, options);
      const judged = await runPipeline(input, { ...options, holdout: 0.3 });

      // Assess
      expect(judged.report.holdout).toBeDefined();
      expect(plain.report.holdout).toBeUndefined();
      expect(judged.labels).toBe(plain.labels);
      expect(parseLabels(judged.labels).filter((row) => row.source === 'given').length).toBe(18);
    },
    180_000,
  );
});
