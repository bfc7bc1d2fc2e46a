import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { RunFailedError, runEmbedded } from '../../lib/hosts/embedded/embeddedRunner.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import { readRunRecord, removeTempDirs, tempDir } from './support/pipelineHarness.ts';

/**
 * The output disk fills up while the outputs are written to --out: labels.csv is not left cut mid-line, and the
 * run is recorded failed with the path and the OS error instead of succeeded. Writes to a directory named `out`
 * fail with ENOSPC once the file passes 100 bytes, as a full disk would.
 */

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const writeFile: typeof real.writeFile = async (file, data, options) => {
    const path = String(file);
    if (/\/out\/[^/]+$/.test(path) && typeof data !== 'string' && (data as Uint8Array).length > 100) {
      await real.writeFile(file, (data as Uint8Array).subarray(0, 100), options); // the part that fitted
      throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
    }
    return real.writeFile(file, data, options);
  };
  return { ...real, writeFile, default: { ...real, writeFile } };
});

afterAll(removeTempDirs);

describe('the output disk fills up', () => {
  it('fails the run with the path and the OS error, and leaves no cut file in --out', async () => {
    // Prepare
    const dir = await tempDir();
    const input = await writeInput(dir, 'blobs.csv', csvText(blobRows({ n: 60, seed: 8 })));
    const out = join(dir, 'out');
    const stateDir = join(dir, 'state');

    // Act
    const error = await runEmbedded({
      input,
      out,
      stateDir,
      options: parseRunOptions({ neighbors: 5, workers: 1 }),
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const record = await readRunRecord(stateDir, (error as RunFailedError).runId);
    expect({ status: record.status, stage: record.stage }).toEqual({ status: 'failed', stage: 'finalize' });
    expect(record.error).toMatch(new RegExp(`^cannot write output to ${out}/[a-z.]+: ENOSPC: no space left on device`));
    expect(await readdir(out)).toEqual([]);
  });
});
