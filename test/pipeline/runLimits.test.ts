import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OptionsError } from '../../lib/errors.ts';
import { RunFailedError } from '../../lib/hosts/embedded/embeddedRunner.ts';
import { writeInput } from './support/datasets.ts';
import { readRunRecord, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/** Hostile or careless options and inputs are refused with a message naming the bound (lib/pipeline/runLimits.ts). */

afterAll(removeTempDirs);

async function failureOf(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => undefined,
    (caught: unknown) => caught,
  );
}

function smallCsv(rows = 200): string {
  const lines = ['id,label,x,y'];
  for (let i = 0; i < rows; i++) lines.push(`r${i},${i < 4 ? i % 2 : ''},${i % 2},${i / rows}`);
  return `${lines.join('\n')}\n`;
}

describe('bounds of a run', () => {
  it('refuses shards: 500 on a 200-row file in the plan step, before splitting it', async () => {
    // Prepare
    const dir = await tempDir();
    const input = await writeInput(dir, 'small.csv', smallCsv());
    const stateDir = join(dir, 'state');
    // Act
    const error = await failureOf(runPipeline(input, { shards: 500, workers: 1, neighbors: 3 }, { stateDir }));
    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const failure = error as RunFailedError;
    expect(failure.message).toMatch(
      /^shards 500 is more than this input allows: at most 16 .* use --shards 16 or fewer$/,
    );
    const record = await readRunRecord(stateDir, failure.runId);
    expect({ status: record.status, stage: record.stage, shards: record.shards }).toEqual({
      status: 'failed',
      stage: 'plan',
      shards: 0,
    });
  });

  it('refuses a five-million-column header with a message saying the limit', async () => {
    // Prepare
    const dir = await tempDir();
    const header = Array.from({ length: 5_000_000 }, (_, i) => `c${i}`).join(',');
    const input = await writeInput(dir, 'wide.csv', `${header}\n`);
    // Act
    const error = await failureOf(runPipeline(input, { workers: 1 }));
    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    expect((error as Error).message).toBe(
      `cannot read input file ${input}: the header has 5,000,000 columns, more than the limit of 100,000 per file`,
    );
  });

  it('refuses --workers 1000 before any work', async () => {
    // Prepare
    const dir = await tempDir();
    const input = await writeInput(dir, 'small.csv', smallCsv());
    const stateDir = join(dir, 'state');
    // Act
    const error = await failureOf(runPipeline(input, { workers: 1000 }, { stateDir }));
    // Assess
    expect(error).toBeInstanceOf(OptionsError);
    expect((error as Error).message).toMatch(/^invalid options: --workers: at most \d+, 4 per core of this host/);
  });

  it('refuses a label column of as many classes as rows when the label distributions would not fit the host', async () => {
    // Prepare: 2,000 rows of 2,000 classes on --task-memory 256: the plan (2 classes assumed) lets it through,
    // collect's capacity check with the classes found does not (each iterate task: about 280 MB)
    const dir = await tempDir();
    const lines = ['id,label,x'];
    for (let i = 0; i < 2000; i++) lines.push(`r${i},class${i},${i}`);
    const input = await writeInput(dir, 'many-classes.csv', `${lines.join('\n')}\n`);
    // Act
    const error = await failureOf(runPipeline(input, { workers: 1, neighbors: 3, taskMemory: 256 }));
    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    expect((error as Error).message).toMatch(/the run cannot fit: (each iterate task|the propagate step) /);
    expect((error as Error).message).toContain('over --task-memory 256 MB');
    expect((error as Error).message).toContain(
      '2,000 classes a row: is the label column (--label-column) the right one?',
    );
  });
});
