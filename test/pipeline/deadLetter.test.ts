import { afterAll, describe, expect, it, vi } from 'vitest';
import { RunFailedError } from '../../lib/hosts/embedded/embeddedRunner.ts';
import type { StageContext } from '../../lib/pipeline/stageContext.ts';
import type { TaskMessage } from '../../lib/pipeline/taskMessage.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import { readRunRecord, recordingLog, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * A task that fails on every delivery (a fault no retry mends and that is not a known run failure, e.g. a
 * broken disk) is received 3 times, then dead-lettered; on its last receive its run is marked failed with the
 * same rule and reason as in Lambda (lib/pipeline/run/lastReceive.ts), and the embedded run ends with a RunFailedError
 * that names the stage and the error, instead of hanging or retrying forever. The neighbors task of shard 1 is made
 * to throw; the run uses workers: 1 so the task runs in this thread, where the mock applies.
 */

const failing = vi.hoisted(() => ({ receives: 0 }));

vi.mock('../../lib/pipeline/stages/neighbors.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/pipeline/stages/neighbors.ts')>();
  return {
    ...real,
    neighborsStage: async (ctx: StageContext, task: TaskMessage) => {
      if (task.shard === 1) {
        failing.receives++;
        throw new Error('simulated disk failure on shard 1');
      }
      return real.neighborsStage(ctx, task);
    },
  };
});

afterAll(removeTempDirs);

describe('a task that always fails', () => {
  it('is dead-lettered after 3 receives and the run ends with a clear RunFailedError', async () => {
    // Prepare
    failing.receives = 0;
    const input = await writeInput(await tempDir(), 'blobs.csv', csvText(blobRows({ n: 90, seed: 9 })));
    const log = recordingLog();
    const stateDir = `${await tempDir()}/state`;
    // Act
    const error = await runPipeline(input, { shards: 3, workers: 1, neighbors: 5 }, { log, stateDir }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const failure = error as RunFailedError;
    expect(failure.message).toBe('task neighbors shard 1 failed 3 times: simulated disk failure on shard 1');
    expect(failing.receives).toBe(3);
    const retried = log.lines.filter((line) => line.message === 'task failed; it will be delivered again');
    expect(retried.map((line) => (line.fields.body as TaskMessage).shard)).toEqual([1, 1, 1]);
    const lastReceive = log.lines.filter(
      (line) => line.message === 'task failed on its last receive; run marked failed',
    );
    expect(lastReceive.map((line) => [line.fields.stage, line.fields.shard])).toEqual([['neighbors', 1]]);
    const record = await readRunRecord(stateDir, failure.runId);
    expect(record.stage).toBe('neighbors');
  });

  it('leaves run.json saying the run failed, with the reason (not "running" forever)', async () => {
    // Prepare
    const input = await writeInput(await tempDir(), 'blobs.csv', csvText(blobRows({ n: 90, seed: 9 })));
    const stateDir = `${await tempDir()}/state`;
    // Act
    const error = await runPipeline(input, { shards: 3, workers: 1, neighbors: 5 }, { stateDir }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const record = await readRunRecord(stateDir, (error as RunFailedError).runId);
    expect({ status: record.status, error: record.error }).toEqual({
      status: 'failed',
      error: 'task neighbors shard 1 failed 3 times: simulated disk failure on shard 1',
    });
    expect(record.finishedAt).toBeDefined();
  });
});
