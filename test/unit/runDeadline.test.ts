import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import { BASE_MS, runDeadline } from '../../lib/pipeline/run/runDeadline.ts';
import type { RunRecord } from '../../lib/pipeline/run/runRecord.ts';
import { formatStatus, progressLine, runStatus } from '../../lib/pipeline/run/runStatus.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';

/** A run's deadline comes from its size at plan time; `status` calls a run still running past it stalled. */

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

const CREATED = '2025-01-01T00:00:00.000Z';

function running(deadline: string): RunRecord {
  return {
    runId: 'r1',
    dataset: 'ds',
    inputRoot: 'file:///data',
    inputs: [],
    options: parseRunOptions({}),
    status: 'running',
    stage: 'neighbors',
    round: 0,
    shards: 4,
    createdAt: CREATED,
    updatedAt: CREATED,
    deadline,
    timings: {},
  };
}

describe('runDeadline', () => {
  it('grows with rows, features and self-training rounds, from a fixed base', () => {
    // Act
    const small = Date.parse(runDeadline(CREATED, 1_000, 10, parseRunOptions({}))) - Date.parse(CREATED);
    const large = Date.parse(runDeadline(CREATED, 1_000_000, 10, parseRunOptions({}))) - Date.parse(CREATED);
    const wide = Date.parse(runDeadline(CREATED, 1_000_000, 500, parseRunOptions({}))) - Date.parse(CREATED);
    const rounds = parseRunOptions({ method: 'self-training', maxIter: 20 });
    const selfTraining = Date.parse(runDeadline(CREATED, 1_000_000, 10, rounds)) - Date.parse(CREATED);
    // Assess
    expect(small).toBeGreaterThanOrEqual(BASE_MS);
    expect(small).toBeLessThan(BASE_MS + 60_000);
    expect(large).toBeGreaterThan(small);
    expect(wide).toBeGreaterThan(large);
    expect(selfTraining).toBeGreaterThan(large);
  });
});

describe('status of a run past its deadline', () => {
  it('is stalled, shown on the status and progress lines; before the deadline it is not', async () => {
    // Prepare
    const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-deadline-'));
    roots.push(root);
    const store = new FilesystemObjectStore(root);
    const deadline = '2025-01-01T00:30:00.000Z';
    await store.put(keys.run('r1'), JSON.stringify(running(deadline)));
    // Act
    const before = await runStatus(store, 'r1', new Date('2025-01-01T00:29:00.000Z'));
    const after = await runStatus(store, 'r1', new Date('2025-01-01T00:31:00.000Z'));
    // Assess
    expect(before!.stalled).toBeUndefined();
    expect(after!.stalled).toBe(true);
    expect(after!.status).toBe('running');
    expect(formatStatus(after!)).toContain(`status   running (stalled: past its deadline ${deadline})`);
    expect(progressLine(after!)).toMatch(/^running \(stalled: past its deadline .*\): neighbors 0\/4 shards/);
  });
});
