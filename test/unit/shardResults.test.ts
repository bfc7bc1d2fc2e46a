import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import { SOURCE } from '../../lib/pipeline/outputs/rowOutcome.ts';
import { readShardResult, writeShardResults } from '../../lib/pipeline/outputs/shardResults.ts';
import type { Collected } from '../../lib/pipeline/shards/collected.ts';
import type { StageContext } from '../../lib/pipeline/stageContext.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function context(): Promise<StageContext> {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-shard-results-'));
  roots.push(root);
  return filesystemStageContext(new FilesystemObjectStore(root));
}

describe('per-shard results', () => {
  it('splits an outcome over all rows into one part per shard, each holding its rows in order', async () => {
    // Prepare
    const ctx = await context();
    const shards = [
      { rows: 2, offset: 0, dropped: [] },
      { rows: 0, offset: 2, dropped: [0] },
      { rows: 3, offset: 2, dropped: [] },
    ];
    const collected = { n: 5, shards } as unknown as Collected;
    const outcome = {
      label: Int32Array.of(0, 1, -1, 2, 0),
      confidence: Float64Array.of(1, 0.5, 0, 0.25, 0.75),
      source: Uint8Array.of(SOURCE.given, SOURCE.propagated, SOURCE.none, SOURCE.pseudo, SOURCE.propagated),
      round: Int32Array.of(0, 0, -1, 2, 0),
    };

    // Act
    await writeShardResults(ctx, 'run', collected, outcome);
    const parts = [];
    for (let s = 0; s < shards.length; s++) parts.push(await readShardResult(ctx, 'run', s));

    // Assess
    expect(await ctx.store.head(keys.shardResult('run', 2))).toBeDefined();
    expect(parts.map((part) => Array.from(part.label))).toEqual([[0, 1], [], [-1, 2, 0]]);
    expect(parts.map((part) => Array.from(part.confidence))).toEqual([[1, 0.5], [], [0, 0.25, 0.75]]);
    expect(parts.map((part) => Array.from(part.source))).toEqual([[0, 1], [], [3, 2, 1]]);
    expect(parts.map((part) => Array.from(part.round))).toEqual([[0, 0], [], [-1, 2, 0]]);
  });
});
