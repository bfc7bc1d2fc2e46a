import { afterAll, describe, expect, it } from 'vitest';
import { RunFailedError, runEmbedded, type TaskProcessEvent } from '../../lib/pipeline/embedded/embeddedRunner.ts';
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
    const stages = processes.map((event) => event.stage).sort();
    expect(stages).toEqual(
      [
        'plan',
        'ingest',
        'ingest',
        'ingest',
        'collect',
        'neighbors',
        'neighbors',
        'neighbors',
        'propagate',
        'output',
        'output',
        'output',
        'finalize',
      ].sort(),
    );
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

  it('fails a task that goes over the limit, and the run with it, naming the task, its peak and the limit', async () => {
    // Prepare: a Node process alone takes about 40 MB, so every task goes over 40 MB
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
    expect(message).toMatch(
      /^task plan shard 0 needed more than --task-memory 40 MB \(its peak RSS reached (\d+) MB\)/,
    );
    expect(Number(/reached (\d+) MB/.exec(message)?.[1])).toBeGreaterThan(40);
    expect(message).toContain('raise --task-memory');
    const record = await readRunRecord(stateDir, (error as RunFailedError).runId);
    expect({ status: record.status, stage: record.stage, error: record.error }).toEqual({
      status: 'failed',
      stage: 'plan',
      error: message,
    });
  });
});
