import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { retrainDataset } from '../../lib/pipeline/datasets/datasetRuns.ts';
import { datasetKeys } from '../../lib/pipeline/datasets/datasetVersions.ts';
import { retrainScheduled } from '../../lib/pipeline/datasets/scheduledRetrain.ts';
import type { StageContext } from '../../lib/pipeline/stageContext.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function context(): Promise<{ ctx: StageContext; store: FilesystemObjectStore }> {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-scheduled-'));
  roots.push(root);
  const store = new FilesystemObjectStore(root);
  const ctx = filesystemStageContext(store);
  return { ctx, store };
}

const CSV = 'id,label,x\n1,a,0.5\n2,,0.7\n';

/** Records `runId` as the dataset's latest version, made from the files and options its run read. */
async function publishedAs(store: FilesystemObjectStore, dataset: string, runId: string, contentKey: string, at: Date) {
  await store.put(
    datasetKeys.versionFile(dataset, 1, 'version.json'),
    JSON.stringify({ dataset, version: 1, runId, contentKey }),
  );
  await store.put(
    datasetKeys.latest(dataset),
    JSON.stringify({ dataset, version: 1, runId, updatedAt: at.toISOString() }),
  );
}

describe('retrainDataset', () => {
  it('starts nothing when the latest version was made from the same files and options; a change starts a run', async () => {
    // Prepare
    const { ctx, store } = await context();
    await store.put('incoming/ds/a.csv', CSV);
    await store.put('incoming/ds/confirmed/fix.csv', 'id,label\n2,a\n');
    const first = await retrainDataset(ctx, 'file:///x', 'ds');
    if (first.kind !== 'started') throw new Error(first.kind);
    await publishedAs(store, 'ds', first.run.runId, first.run.contentKey!, new Date());

    // Act
    const unchanged = await retrainDataset(ctx, 'file:///x', 'ds');
    await store.put('incoming/ds/b.csv', CSV.replace('1,a', '3,a').replace('2,,', '4,,'));
    const changed = await retrainDataset(ctx, 'file:///x', 'ds');

    // Assess
    expect(first.run.inputs.map((input) => input.key)).toEqual(['incoming/ds/a.csv']);
    expect(unchanged.kind).toBe('unchanged');
    expect(changed.kind).toBe('started');
    if (changed.kind === 'started') {
      expect(changed.run.runId).toMatch(/-after1$/);
      expect(changed.run.versioned).toBe(true);
    }
  });
});

describe('retrainScheduled', () => {
  it('a new correction under confirmed/ is a change: retrain starts a run', async () => {
    // Prepare
    const { ctx, store } = await context();
    await store.put('incoming/ds/a.csv', CSV);
    const first = await retrainDataset(ctx, 'file:///x', 'ds');
    if (first.kind !== 'started') throw new Error(first.kind);
    await publishedAs(store, 'ds', first.run.runId, first.run.contentKey!, new Date());

    // Act
    await store.put('incoming/ds/confirmed/fix.csv', 'id,label\n2,a\n');
    const corrected = await retrainDataset(ctx, 'file:///x', 'ds');

    // Assess
    expect(corrected.kind).toBe('started');
    if (corrected.kind === 'started') expect(corrected.run.contentKey).not.toBe(first.run.contentKey);
  });

  it('retrains daily datasets and listed ones, weekly ones once a week, and leaves the others alone', async () => {
    // Prepare
    const { ctx, store } = await context();
    const now = new Date('2026-12-05T03:00:00Z');
    for (const [dataset, retrain] of [
      ['daily', 'daily'],
      ['weekly-due', 'weekly'],
      ['weekly-recent', 'weekly'],
      ['never', 'never'],
      ['unset', undefined],
      ['listed', undefined],
    ] as const) {
      await store.put(`incoming/${dataset}/pseudolabel.json`, JSON.stringify(retrain ? { retrain } : {}));
      await store.put(`incoming/${dataset}/a.csv`, CSV);
    }
    await publishedAs(store, 'weekly-due', 'old', 'other', new Date(now.getTime() - 7 * 24 * 3600 * 1000));
    await publishedAs(store, 'weekly-recent', 'new', 'other', new Date(now.getTime() - 24 * 3600 * 1000));

    // Act
    const results = await retrainScheduled(ctx, 'file:///x', ['listed'], undefined, now);

    // Assess
    const byDataset = Object.fromEntries(results.map((r) => [r.dataset, r.outcome]));
    expect(byDataset).toEqual({
      daily: 'started',
      'weekly-due': 'started',
      'weekly-recent': 'not due',
      listed: 'started',
    });
  });
});
