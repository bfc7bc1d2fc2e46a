import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { StepClaimedError } from '../../lib/pipeline/errors.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import { reduceOnce } from '../../lib/pipeline/run/fanIn.ts';
import { taskMessage } from '../../lib/pipeline/taskMessage.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

/**
 * Reduce steps claim their work with a put-if-absent claim object: two deliveries of one step never compute it
 * at the same time (the advanced marker is written only after the work, so it cannot keep them apart).
 */

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function context() {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-claim-'));
  roots.push(root);
  const store = new FilesystemObjectStore(root);
  const ctx = filesystemStageContext(store);
  return { ctx, store };
}

describe('reduce step claims', () => {
  it('two deliveries at once: one computes, the other is refused with StepClaimedError', async () => {
    // Prepare
    const { ctx } = await context();
    const task = taskMessage('r1', 'collect');
    let computing = 0;
    let computed = 0;
    let release!: () => void;
    const held = new Promise<void>((done) => (release = done));
    let started!: () => void;
    const firstComputing = new Promise<void>((done) => (started = done));
    const step = async () => {
      computing++;
      started();
      await held;
      computed++;
      return { tasks: [taskMessage('r1', 'neighbors', 0, 0)] };
    };
    // Act
    const first = reduceOnce(ctx, task, step);
    await firstComputing; // the first delivery has claimed the step and is computing
    const second = await reduceOnce(ctx, task, step).then(
      () => undefined,
      (error: unknown) => error,
    );
    release();
    await first;
    // Assess
    expect(second).toBeInstanceOf(StepClaimedError);
    expect((second as Error).message).toMatch(/^reduce step collect round 0 is being computed by another delivery/);
    expect({ computing, computed }).toEqual({ computing: 1, computed: 1 });
  });

  it('a claim that expired (its holder died) is taken over, under the next number', async () => {
    // Prepare
    const { ctx, store } = await context();
    const task = taskMessage('r1', 'propagate');
    const past = new Date(Date.now() - 1_000).toISOString();
    await store.put(keys.claim('r1', 'propagate', 0, 0), JSON.stringify({ claimedAt: past, expiresAt: past }));
    // Act
    const ran = await reduceOnce(ctx, task, async () => ({}));
    // Assess
    expect(ran).toBe(true);
    expect((await store.list(keys.claims('r1', 'propagate', 0))).map((info) => info.key.split('/').at(-1))).toEqual([
      '00000',
      '00001',
    ]);
  });

  it('a live claim of another delivery refuses this one, and a step that failed gives its claim up', async () => {
    // Prepare
    const { ctx, store } = await context();
    const task = taskMessage('r1', 'finalize');
    const future = new Date(Date.now() + 60_000).toISOString();
    await store.put(keys.claim('r1', 'finalize', 0, 0), JSON.stringify({ claimedAt: future, expiresAt: future }));
    const other = taskMessage('r1', 'reduce', 2);
    // Act
    const refused = reduceOnce(ctx, task, async () => ({}));
    const failed = reduceOnce(ctx, other, async () => {
      throw new Error('transient');
    });
    // Assess
    await expect(refused).rejects.toBeInstanceOf(StepClaimedError);
    await expect(failed).rejects.toThrow('transient');
    expect(await store.list(keys.claims('r1', 'reduce', 2))).toEqual([]);
    expect(await reduceOnce(ctx, other, async () => ({}))).toBe(true); // the retry claims it at once
  });
});
