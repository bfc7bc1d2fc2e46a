import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { RunFailedError } from '../../lib/hosts/embedded/embeddedRunner.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import { readRunRecord, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * The disk of ./.pseudolabel fills up during a run: every write of a neighbors result fails with ENOSPC. The run
 * ends failed with the stage and the OS error, and its intermediates are deleted (freeing the disk), instead of
 * exiting with run.json "running" and the files left behind. workers: 1 runs the tasks in this thread, where the
 * mock applies.
 */

vi.mock('../../lib/adapters/filesystemObjectStore.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/adapters/filesystemObjectStore.ts')>();
  const { StoreUnavailableError } = await import('../../lib/adapters/errors.ts');
  class DiskFullStore extends real.FilesystemObjectStore {
    override async put(key: string, body: Uint8Array | string): Promise<void> {
      if (key.endsWith('/neighbors.bin')) {
        const error = Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
        throw new StoreUnavailableError(this.describe(key), error);
      }
      return super.put(key, body);
    }
  }
  return { ...real, FilesystemObjectStore: DiskFullStore };
});

afterAll(removeTempDirs);

describe('the state directory runs out of space', () => {
  it('fails the run with the stage and the OS error, and deletes its intermediates', async () => {
    // Prepare
    const input = await writeInput(await tempDir(), 'blobs.csv', csvText(blobRows({ n: 90, seed: 4 })));
    const stateDir = join(await tempDir(), 'state');

    // Act
    const error = await runPipeline(input, { shards: 2, workers: 1, neighbors: 5 }, { stateDir }).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const runId = (error as RunFailedError).runId;
    const record = await readRunRecord(stateDir, runId);
    expect(record.status).toBe('failed');
    expect(record.stage).toBe('neighbors');
    expect(record.error).toMatch(/neighbors\.bin: ENOSPC: no space left on device/);
    expect(await readdir(join(stateDir, 'runs', runId))).toEqual(['run.json']);
  });
});
