import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import type { RunRecord } from '../../lib/pipeline/run/runRecord.ts';
import { stalledRuns } from '../../lib/pipeline/run/stalledRuns.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

function run(runId: string, status: RunRecord['status'], deadline?: string): RunRecord {
  return {
    runId,
    dataset: 'ds',
    inputRoot: 's3://b',
    inputs: [],
    options: parseRunOptions({}),
    status,
    stage: 'neighbors',
    round: 0,
    shards: 2,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...(deadline ? { deadline } : {}),
    timings: {},
  };
}

describe('stalledRuns (the deadline watch)', () => {
  it('finds the runs still running past their deadline, and only those', async () => {
    // Prepare
    const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-stalled-'));
    roots.push(root);
    const store = new FilesystemObjectStore(root);
    const past = '2025-01-01T01:00:00.000Z';
    const future = '2025-01-01T03:00:00.000Z';
    for (const record of [
      run('late', 'running', past),
      run('on-time', 'running', future),
      run('ended-late', 'failed', past),
      run('unplanned', 'running'),
    ]) {
      await store.put(keys.run(record.runId), JSON.stringify(record));
    }
    await store.put(keys.marker('late', 'ingest', 0, 0), '{}');
    // Act
    const stalled = await stalledRuns(store, new Date('2025-01-01T02:00:00.000Z'));
    // Assess
    expect(stalled.map((record) => record.runId)).toEqual(['late']);
  });
});
