import { afterAll, describe, expect, it } from 'vitest';
import { RunFailedError, runEmbedded, type TaskProcessEvent } from '../../lib/hosts/embedded/embeddedRunner.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import type { StageMetrics } from '../../lib/pipeline/taskMetrics.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import { readOutput, readRunRecord, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * `--task-memory MB` (options.taskMemory): the embedded runner runs every task, reduce steps included, in a child
 * process of its own, and fails a task whose process goes over MB, as a Lambda of that size would.
 */

afterAll(removeTempDirs);

const MB = 1024 * 1024;

async function blobsInput(n: number, seed: number): Promise<string> {
  return writeInput(await tempDir(), 'blobs.csv', csvText(blobRows({ n, seed })));
}

describe('--task-memory', () => {
  it('runs every task in a child process of its own, with the labels of a run on threads', async () => {
    // Prepare
    const input = await blobsInput(300, 41);
    const options = { shards: 3, workers: 2, neighbors: 5 };
    const onThreads = await runPipeline(input, options);
    const dir = await tempDir();
    const processes: TaskProcessEvent[] = [];

    // Act
    await runEmbedded({
      input,
      out: `${dir}/out`,
      stateDir: `${dir}/state`,
      options: parseRunOptions({ ...options, taskMemory: 1024 }),
      onTaskProcess: (event) => processes.push(event),
    });
    const inProcesses = await readOutput(`${dir}/out`);

    // Assess
    expect(inProcesses.labels).toBe(onThreads.labels);
    // every task ran (a reduce step may be delivered twice when two shard tasks end together: it then does nothing)
    const tasks = new Set(processes.map((event) => `${event.stage} ${event.shard}`));
    const expected = ['plan 0', 'ingest 0', 'ingest 1', 'ingest 2', 'collect 0', 'neighbors 0', 'neighbors 1'];
    expect([...tasks]).toEqual(expect.arrayContaining([...expected, 'neighbors 2', 'propagate 0', 'finalize 0']));
    const pids = new Set(processes.map((event) => event.pid));
    expect(pids.size).toBe(processes.length);
    expect(pids.has(process.pid)).toBe(false);
    for (const event of processes) expect(event.peakRssBytes).toBeGreaterThan(10 * MB);
  });

  it("records per stage the tasks, each task's own peak RSS and the bytes moved through the store", async () => {
    // Prepare
    const text = csvText(blobRows({ n: 300, seed: 42 }));
    const input = await writeInput(await tempDir(), 'blobs.csv', text);

    // Act
    const run = await runPipeline(input, { shards: 3, workers: 2, neighbors: 5, taskMemory: 1024 });

    // Assess
    const metrics = run.report.stageMetrics as Record<string, StageMetrics>;
    expect(Object.keys(metrics).sort()).toEqual([
      'collect',
      'finalize',
      'ingest',
      'neighbors',
      'output',
      'plan',
      'propagate',
    ]);
    const tasks = Object.fromEntries(Object.entries(metrics).map(([stage, m]) => [stage, m.tasks]));
    expect(tasks).toEqual({ plan: 1, ingest: 3, collect: 1, neighbors: 3, propagate: 1, output: 3, finalize: 1 });
    for (const stage of Object.values(metrics)) {
      expect(stage.peakRssScope).toBe('task');
      expect(stage.peakRssBytesByTask).toHaveLength(stage.tasks);
      expect(stage.peakRssBytes).toBe(Math.max(...stage.peakRssBytesByTask));
      expect(stage.peakRssBytes).toBeGreaterThan(10 * MB);
      expect(stage.peakRssBytes).toBeLessThanOrEqual(1024 * MB);
      expect(stage.bytesRead).toBeGreaterThan(0);
      expect(stage.largestTaskBytesRead).toBeLessThanOrEqual(stage.bytesRead);
    }
    // ingest reads the whole input (line-aligned byte ranges, in blocks) and writes the binary shards
    expect(metrics.ingest.bytesRead).toBeGreaterThanOrEqual(Buffer.byteLength(text));
    expect(metrics.ingest.bytesWritten).toBeGreaterThan(0);
    // every neighbors task compares its shard with every shard (exact mode): it reads all of them
    expect(metrics.neighbors.largestTaskBytesRead).toBeGreaterThanOrEqual(metrics.ingest.bytesWritten / 2);
  });

  it('fails a run whose tasks cannot fit the limit, with status failed and a message naming the limit', async () => {
    // Prepare: a task process alone takes about 60 MB: either the plan step refuses the run (capacity.ts) or the
    // watchdog stops the plan task's process, whichever comes first; both end the run at plan
    const input = await blobsInput(90, 43);
    const stateDir = `${await tempDir()}/state`;

    // Act
    const error = await runPipeline(input, { shards: 3, workers: 2, neighbors: 5, taskMemory: 40 }, { stateDir }).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const message = (error as RunFailedError).message;
    expect(message).toMatch(/--task-memory 40 MB.*; .*--task-memory/);
    const record = await readRunRecord(stateDir, (error as RunFailedError).runId);
    expect({ status: record.status, stage: record.stage, error: record.error }).toEqual({
      status: 'failed',
      stage: 'plan',
      error: message,
    });
  });

  it('refuses at plan, before any ingest, a run whose steps would not fit, naming the memory it needs', async () => {
    // Prepare: 700,000 rows x 2 features: a partition's iterate task would take more than 100 MB (collect, at 16
    // bytes a row, would fit: it took 90 a row before its id hashes)
    const rows = Array.from({ length: 700_000 }, (_, i) => `r${i},${i < 10 ? i % 2 : ''},${i % 7},${i % 11}`);
    const input = await writeInput(await tempDir(), 'rows.csv', `id,label,a,b\n${rows.join('\n')}\n`);
    const stateDir = `${await tempDir()}/state`;

    // Act
    const error = await runPipeline(input, { workers: 2, taskMemory: 100 }, { stateDir }).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const message = (error as RunFailedError).message;
    expect(message).toMatch(
      /^the run cannot fit: each iterate task \(\d+ shards\) would need about \d+ MB for [\d,]+ rows x 2 features, over --task-memory 100 MB; use more shards \(--shards \d+\), or --task-memory \d+$/,
    );
    const record = await readRunRecord(stateDir, (error as RunFailedError).runId);
    expect({ status: record.status, stage: record.stage, shards: record.shards }).toEqual({
      status: 'failed',
      stage: 'plan',
      shards: 0,
    });
  });

  it('refuses at collect a run that the labels make too large: the plan step counted two classes', async () => {
    // Prepare: 70,000 rows, 100 classes: a partition task would hold about 450 MB, over 300 (about 75 with 2 classes)
    const rows = Array.from({ length: 70_000 }, (_, i) => `r${i},${i < 200 ? `c${i % 100}` : ''},${i % 7},${i % 11}`);
    const input = await writeInput(await tempDir(), 'classes.csv', `id,label,a,b\n${rows.join('\n')}\n`);
    const stateDir = `${await tempDir()}/state`;

    // Act
    const error = await runPipeline(input, { workers: 2, shards: 2, taskMemory: 300 }, { stateDir }).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    expect((error as RunFailedError).message).toMatch(
      // propagation fans out where one process would not fit: each partition task holds the classes of its rows
      /^the run cannot fit: each iterate task \(2 shards\) would need about \d+ MB for 70,000 rows x 2 features, over --task-memory 300 MB; use more shards \(--shards \d+\)/,
    );
    const record = await readRunRecord(stateDir, (error as RunFailedError).runId);
    expect({ status: record.status, stage: record.stage }).toEqual({ status: 'failed', stage: 'collect' });
  });
});
