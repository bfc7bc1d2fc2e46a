import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOptionsInput } from '../../lib/pipeline/runOptions.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import {
  comparableReport,
  type RecordingLog,
  type RunOutput,
  recordingLog,
  removeTempDirs,
  runPipeline,
  tempDir,
} from './support/pipelineHarness.ts';

/**
 * The embedded runner's fault injection (runEmbedded `faults`): 30% of first deliveries fail, before the task
 * ran or after it ran and before its acknowledgement; the queue delivers them again. The output must be the
 * same as a clean run's, byte for byte.
 */

const OPTIONS: RunOptionsInput = { method: 'label-spreading', kernel: 'knn', neighbors: 6, shards: 4, workers: 1 };

function injected(log: RecordingLog): { before: number; after: number } {
  const errors = log.lines
    .filter((line) => line.message === 'task failed; it will be delivered again')
    .map((line) => String(line.fields.error));
  return {
    before: errors.filter((error) => error.includes('injected fault before')).length,
    after: errors.filter((error) => error.includes('injected fault after')).length,
  };
}

let input = '';
let clean: RunOutput;

beforeAll(async () => {
  const lines = csvText(blobRows({ n: 200, d: 4, seed: 5 }))
    .trimEnd()
    .split('\n');
  lines[33] = lines[33].replace(/,[^,]*$/, ',NaN'); // one rejected row: rejected.csv must not double either
  input = await writeInput(await tempDir(), 'blobs.csv', `${lines.join('\n')}\n`);
  clean = await runPipeline(input, OPTIONS);
});

afterAll(removeTempDirs);

describe('tasks that throw once at random (faults rate 0.3)', () => {
  it.each([
    { seed: 1, workers: 1 },
    { seed: 2, workers: 1 },
    { seed: 3, workers: 1 },
    { seed: 4, workers: 1 },
    { seed: 5, workers: 2 },
  ])('seed $seed, workers $workers: the same output as a clean run', async ({ seed, workers }) => {
    // Prepare
    const log = recordingLog();
    // Act
    const run = await runPipeline(input, { ...OPTIONS, workers }, { faults: { rate: 0.3, seed }, log });
    // Assess
    const faults = injected(log);
    expect(faults.before + faults.after, 'faults were injected').toBeGreaterThan(0);
    expect(run.record.status).toBe('succeeded');
    expect(run.labels === clean.labels, 'labels.csv differs byte for byte').toBe(true);
    expect(run.rejected).toBe(clean.rejected);
    expect(comparableReport(run.report)).toEqual(comparableReport(clean.report));
  });

  it('over the seeds, faults hit both before and after a task ran', async () => {
    // Prepare
    const totals = { before: 0, after: 0 };
    // Act
    for (const seed of [6, 7]) {
      const log = recordingLog();
      const run = await runPipeline(input, OPTIONS, { faults: { rate: 0.5, seed }, log });
      expect(run.labels === clean.labels, 'labels.csv differs byte for byte').toBe(true);
      const faults = injected(log);
      totals.before += faults.before;
      totals.after += faults.after;
    }
    // Assess
    expect(totals.before).toBeGreaterThan(0);
    expect(totals.after).toBeGreaterThan(0);
  });
});
