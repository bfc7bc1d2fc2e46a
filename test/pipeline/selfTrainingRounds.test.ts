import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SelfTraining } from '../../lib/algorithms/selfTraining.ts';
import { UNLABELLED } from '../../lib/data/dataset.ts';
import { encodeLabels } from '../../lib/data/encodeLabels.ts';
import { formatConfidence } from '../../lib/data/labelsWriter.ts';
import { outcomeFromRounds, probabilitiesOverAllClasses, SOURCES } from '../../lib/pipeline/outputs/rowOutcome.ts';
import type { RunOptionsInput } from '../../lib/pipeline/runOptions.ts';
import { blobRows, csvText, type DataRow, writeInput } from './support/datasets.ts';
import { parseLabels, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * Distributed self-training (score tasks per shard, one reduce step per round holding only the labelled rows,
 * outcome tasks per shard) gives, row for row, what the in-process SelfTraining class (scikit-learn's
 * SelfTrainingClassifier loop) gives on all rows at once, for every selection rule and shard count.
 */

afterAll(removeTempDirs);

/**
 * labels.csv lines (after the header) the in-process class gives for these rows and options: trained on every
 * given label, with or without --holdout (its splits only give the verdict; they hide nothing from the run).
 */
function inProcessLabels(rows: readonly DataRow[], options: Required<SelfTrainingCase>): string[] {
  const { y, classes } = encodeLabels(rows.map((row) => row.label));
  const d = rows[0].features.length;
  const X = { data: Float32Array.from(rows.flatMap((row) => row.features)), n: rows.length, d };
  const st = new SelfTraining({
    criterion: options.criterion,
    threshold: options.threshold,
    kBest: options.kBest,
    maxIter: options.rounds,
    onWarning: () => {},
  }).fit(X, y);
  const k = classes.length;
  const full = probabilitiesOverAllClasses(st.predictProba(X), st.classes, k);
  const outcome = outcomeFromRounds(y, st.labeledIter, st.transduction, full, k);
  return rows.map((row, i) => {
    const label = outcome.label[i] === UNLABELLED ? '' : classes[outcome.label[i]];
    return `${row.id},${label},${formatConfidence(outcome.confidence[i])},${SOURCES[outcome.source[i]]}`;
  });
}

interface SelfTrainingCase {
  readonly criterion: 'threshold' | 'k_best' | 'k_best_per_class';
  readonly threshold?: number;
  readonly kBest?: number;
  readonly rounds?: number;
  readonly holdout?: number;
}

describe('distributed self-training equals the in-process class', () => {
  let rows: DataRow[];
  let input = '';

  beforeAll(async () => {
    rows = blobRows({ n: 900, d: 3, labelledPerClass: 8, seed: 41, spread: 2.2 });
    input = await writeInput(await tempDir(), 'blobs.csv', csvText(rows));
  });

  const cases: [string, SelfTrainingCase, number][] = [
    ['threshold, 1 shard', { criterion: 'threshold', threshold: 0.8, rounds: 6 }, 1],
    ['threshold, 4 shards', { criterion: 'threshold', threshold: 0.8, rounds: 6 }, 4],
    ['k_best, 3 shards', { criterion: 'k_best', kBest: 70, rounds: 4 }, 3],
    ['k_best_per_class with holdout, 5 shards', { criterion: 'k_best_per_class', kBest: 9, holdout: 0.5 }, 5],
    ['threshold with holdout, 0 rounds, 2 shards', { criterion: 'threshold', rounds: 0, holdout: 0.45 }, 2],
  ];

  it.each(cases)('%s', async (_name, selfTraining, shards) => {
    // Prepare
    const options: Required<SelfTrainingCase> = { threshold: 0.75, kBest: 10, rounds: 5, holdout: 0, ...selfTraining };
    const expected = inProcessLabels(rows, options);

    // Act
    const run = await runPipeline(input, {
      method: 'self-training',
      shards,
      workers: 2,
      ...options,
    } as RunOptionsInput);

    // Assess
    const lines = run.labels.trimEnd().split('\n').slice(1);
    expect(run.record.shards).toBe(shards);
    expect(lines).toEqual(expected);
    expect(lines.some((line) => line.endsWith(',pseudo'))).toBe(options.rounds > 0);
  });
});

describe('a shard offering more candidates than a call may take arguments', () => {
  it('labels 250,000 x 4 rows with one shard and 130,000 pseudo labels in one round', async () => {
    // Prepare: ids are row numbers (csvText without ids); one shard offers every k_best candidate
    const rows = blobRows({ n: 250_000, d: 4, seed: 7 });
    const input = await writeInput(await tempDir(), 'large.csv', csvText(rows, false));

    // Act
    const run = await runPipeline(input, {
      method: 'self-training',
      criterion: 'k_best',
      kBest: 130_000,
      rounds: 1,
      shards: 1,
      workers: 1,
    });

    // Assess
    const labels = parseLabels(run.labels);
    expect(run.record.status).toBe('succeeded');
    expect(labels.length).toBe(250_000);
    expect(labels.filter((row) => row.source === 'pseudo').length).toBe(130_000);
    expect(labels.filter((row) => row.source === 'given').length).toBe(9);
  });
});

describe('self-training that adds nothing says why', () => {
  it("warns when round 1 adds no row (features at 1e-6: the classifier's penalty swamps them), naming --scale", async () => {
    // Prepare: well separated blobs, scaled by 1e-6 (what scikit-learn's SelfTrainingClassifier(LogisticRegression)
    // also labels nothing on); the same rows at unit scale add pseudo labels
    const rows = blobRows({ n: 300, d: 3, labelledPerClass: 5, seed: 3 });
    const tiny = rows.map((row) => ({ ...row, features: row.features.map((x) => x * 1e-6) }));
    const dir = await tempDir();
    const [tinyInput, unitInput] = await Promise.all([
      writeInput(dir, 'tiny.csv', csvText(tiny)),
      writeInput(dir, 'unit.csv', csvText(rows)),
    ]);

    // Act
    const [tinyRun, unitRun, scaledRun] = await Promise.all([
      runPipeline(tinyInput, { method: 'self-training', threshold: 0.75, workers: 1 }),
      runPipeline(unitInput, { method: 'self-training', threshold: 0.75, workers: 1 }),
      runPipeline(tinyInput, { method: 'self-training', threshold: 0.75, workers: 1, scale: 'standard' }),
    ]);

    // Assess
    const warnings = (run: typeof tinyRun) => run.report.warnings as string[];
    expect(parseLabels(tinyRun.labels).filter((row) => row.source === 'pseudo')).toEqual([]);
    expect(warnings(tinyRun)).toContainEqual(expect.stringContaining('self-training added no row'));
    expect(warnings(tinyRun)).toContainEqual(expect.stringContaining('--scale standard'));
    for (const run of [unitRun, scaledRun]) {
      expect(parseLabels(run.labels).some((row) => row.source === 'pseudo')).toBe(true);
      expect(warnings(run).some((warning) => warning.includes('added no row'))).toBe(false);
    }
  });
});
