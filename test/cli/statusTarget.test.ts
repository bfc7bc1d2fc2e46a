import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../lib/adapters/objectStore.ts';
import { statusTarget } from '../../lib/cli/statusTarget.ts';
import { removeTempDirs, tempDir } from './cliHarness.ts';

afterAll(removeTempDirs);

/** Stands in for storeFromUrl: a store that only knows where it was opened. */
const open = (location: string) => ({ describe: () => location }) as unknown as ObjectStore;

/** The target reduced to what it names: kind, the opened store's location, run id. */
function named(argument: string | undefined, storeGiven = false) {
  const target = statusTarget(argument, '.pseudolabel', storeGiven, open);
  return {
    kind: target.kind,
    store: target.store.describe(''),
    runId: target.kind === 'run' ? target.runId : undefined,
  };
}

describe('statusTarget', () => {
  it('without an argument is the latest run in the default store', () => {
    expect(named(undefined)).toEqual({ kind: 'run', store: '.pseudolabel', runId: undefined });
  });

  it('reads a bare name as a run id in the default store', () => {
    expect(named('digits-20250101T000000Z-abc123')).toEqual({
      kind: 'run',
      store: '.pseudolabel',
      runId: 'digits-20250101T000000Z-abc123',
    });
  });

  it('takes the run id and the store above runs/ from an s3 run location, with or without a prefix', () => {
    expect(named('s3://pseudolabel-data/runs/r1/')).toEqual({
      kind: 'run',
      store: 's3://pseudolabel-data',
      runId: 'r1',
    });
    expect(named('s3://bucket/team/runs/r2/output/report.json')).toEqual({
      kind: 'run',
      store: 's3://bucket/team',
      runId: 'r2',
    });
  });

  it('takes the run id and the directory above runs/ from a local run location', () => {
    expect(named('.pseudolabel/runs/r1')).toEqual({ kind: 'run', store: '.pseudolabel', runId: 'r1' });
    expect(named('runs/r1/')).toEqual({ kind: 'run', store: '.', runId: 'r1' });
  });

  it('reads other paths and URLs as locations (an output folder, or a store holding runs/)', () => {
    expect(named('out/')).toEqual({ kind: 'location', store: 'out/', runId: undefined });
    expect(named('s3://pseudolabel-data')).toEqual({
      kind: 'location',
      store: 's3://pseudolabel-data',
      runId: undefined,
    });
  });

  it('reads the bare name of an existing directory as a location, unless --store was given', async () => {
    // Prepare
    const dir = await tempDir();
    await mkdir(join(dir, 'out'));
    const cwd = process.cwd();
    process.chdir(dir);

    try {
      // Act
      const [withoutStore, withStore] = [named('out'), named('out', true)];

      // Assess
      expect(withoutStore).toEqual({ kind: 'location', store: 'out', runId: undefined });
      expect(withStore).toEqual({ kind: 'run', store: '.pseudolabel', runId: 'out' });
    } finally {
      process.chdir(cwd);
    }
  });
});
