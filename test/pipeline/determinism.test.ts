import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import {
  comparableReport,
  ROOT,
  type RunOutput,
  readOutput,
  removeTempDirs,
  runPipeline,
  spawnCli,
  tempDir,
} from './support/pipelineHarness.ts';

/**
 * DESIGN.md section 5, "Determinism": the same input and options give the same labels for every shard count and
 * worker count (exact kNN mode): byte-identical labels.csv, and report.json equal but for the run id, timings and
 * the shard / worker parameters themselves.
 */

const DIGITS = join(ROOT, 'examples/digits.csv');
interface Layout {
  readonly shards: number;
  readonly workers: number;
}
/**
 * The first layout is the reference. Every shard count runs in-process; worker threads (piscina, each thread
 * loading the TypeScript sources, 1.5-3 s per pool) run on the sharded digits layouts and, for the generated
 * data, through the spawned command below, to keep the folder fast.
 */
const ALL_LAYOUTS: Layout[] = [
  { shards: 1, workers: 1 },
  { shards: 3, workers: 1 },
  { shards: 8, workers: 1 },
  { shards: 3, workers: 2 },
  { shards: 8, workers: 2 },
];
const IN_PROCESS_LAYOUTS: Layout[] = ALL_LAYOUTS.filter((layout) => layout.workers === 1);
const BLOBS = { n: 600, d: 6, seed: 7 };

afterAll(removeTempDirs);

describe.each([
  { name: 'examples/digits.csv', layouts: ALL_LAYOUTS, input: async () => DIGITS },
  {
    name: 'a generated CSV with string labels and an id column',
    layouts: IN_PROCESS_LAYOUTS,
    input: async () => writeInput(await tempDir(), 'blobs.csv', csvText(blobRows(BLOBS))),
  },
])('$name: the same output for every shard and worker count', ({ layouts, input }) => {
  const runs: { layout: Layout; output: RunOutput }[] = [];

  beforeAll(async () => {
    const path = await input();
    for (const layout of layouts) {
      runs.push({ layout, output: await runPipeline(path, { ...layout, neighborsMode: 'exact' }) });
    }
  });

  it('plans the shard count asked for (so the comparison covers sharded runs)', () => {
    // Prepare
    const expected = layouts.map((layout) => layout.shards);
    // Act
    const planned = runs.map((run) => run.output.record.shards);
    // Assess
    expect(planned).toEqual(expected);
    expect(runs.every((run) => run.output.record.status === 'succeeded')).toBe(true);
  });

  it.each(layouts.slice(1).map((layout, i) => ({ ...layout, index: i + 1 })))(
    'shards $shards, workers $workers: labels.csv byte-identical to shards 1, workers 1',
    ({ index }) => {
      // Prepare
      const reference = runs[0].output;
      // Act
      const { labels } = runs[index].output;
      // Assess
      expect(labels.split('\n').length).toBe(reference.labels.split('\n').length);
      expect(labels === reference.labels, 'labels.csv differs byte for byte').toBe(true);
    },
  );

  it.each(layouts.slice(1).map((layout, i) => ({ ...layout, index: i + 1 })))(
    'shards $shards, workers $workers: report.json equal to shards 1, workers 1 but for runId and timings',
    ({ index }) => {
      // Prepare
      const reference = comparableReport(runs[0].output.report);
      // Act
      const report = comparableReport(runs[index].output.report);
      // Assess
      expect(report).toEqual(reference);
    },
  );

  it('labels every row and keeps the given labels', () => {
    // Prepare
    const lines = runs[0].output.labels.trimEnd().split('\n').slice(1);
    const report = runs[0].output.report as { n: number; given: number };
    // Act
    const given = lines.filter((line) => line.endsWith(',given')).length;
    // Assess
    expect(lines.length).toBe(report.n);
    expect(given).toBe(report.given);
    expect(given).toBeGreaterThan(0);
  });
});

describe('the pseudolabel command with --workers 2 (worker threads end to end)', () => {
  it('writes the same labels.csv and report.json for the generated CSV as an in-process run with one shard', async () => {
    // Prepare
    const dir = await tempDir();
    const input = await writeInput(dir, 'blobs.csv', csvText(blobRows(BLOBS)));
    const reference = await runPipeline(input, { shards: 1, workers: 1 });
    const out = join(dir, 'out');
    // Act
    const result = await spawnCli(['run', '--input', input, '--out', out, '--shards', '8', '--workers', '2'], dir);
    // Assess
    expect(result.code, result.stderr).toBe(0);
    const output = await readOutput(out);
    expect(output.labels === reference.labels, 'labels.csv differs byte for byte').toBe(true);
    expect(comparableReport(output.report)).toEqual(comparableReport(reference.report));
    expect((output.report.parameters as { workers: number; shards: number }).workers).toBe(2);
    expect((output.report.parameters as { workers: number; shards: number }).shards).toBe(8);
  });
});
