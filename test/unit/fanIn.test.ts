import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { InProcessQueue } from '../../lib/adapters/inProcessQueue.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import { completeShardTask, reduceOnce, shardMetricsOf, shardTaskDone } from '../../lib/pipeline/run/fanIn.ts';
import type { StageLog } from '../../lib/pipeline/stageContext.ts';
import { taskMessage } from '../../lib/pipeline/taskMessage.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function context() {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-fan-in-'));
  roots.push(root);
  const store = new FilesystemObjectStore(root);
  const tasks = new InProcessQueue();
  const reduce = new InProcessQueue();
  const logged: string[] = [];
  const log: StageLog = { info: (message) => logged.push(message), warn: (message) => logged.push(message) };
  const ctx = filesystemStageContext(store, { tasks, reduce, log });
  return { ctx, store, tasks, reduce, logged };
}

function drain(queue: InProcessQueue): unknown[] {
  const bodies: unknown[] = [];
  for (let message = queue.receive(); message; message = queue.receive()) {
    bodies.push(message.body);
    queue.ack(message.id);
  }
  return bodies;
}

describe('completeShardTask', () => {
  it('enqueues the reduce step exactly when the last marker lands', async () => {
    // Prepare
    const { ctx, reduce } = await context();
    const sent: number[] = [];

    // Act
    for (const shard of [2, 0, 1]) {
      await completeShardTask(ctx, taskMessage('r1', 'neighbors', 0, shard), 3, 'propagate', { ms: 5 });
      sent.push(reduce.size);
    }

    // Assess
    expect(sent).toEqual([0, 0, 1]);
    expect(drain(reduce)).toEqual([{ v: 1, runId: 'r1', stage: 'propagate', round: 0, shard: 0 }]);
  });

  it('a duplicate of an early shard neither enqueues anything nor replaces its marker', async () => {
    // Prepare
    const { ctx, store, reduce } = await context();
    const task = taskMessage('r1', 'ingest', 0, 0);
    await completeShardTask(ctx, task, 2, 'collect', { ms: 10, rows: 4 });

    // Act
    await completeShardTask(ctx, task, 2, 'collect', { ms: 99, rows: 4 });

    // Assess
    expect(reduce.idle).toBe(true);
    const marker = JSON.parse(new TextDecoder().decode(await store.get(keys.marker('r1', 'ingest', 0, 0))));
    expect(marker).toMatchObject({ ms: 10, rows: 4 });
    expect(await store.list(keys.markers('r1', 'ingest', 0))).toHaveLength(1);
  });

  it('carries the round to the reduce step and counts only the markers of that round', async () => {
    // Prepare
    const { ctx, reduce } = await context();
    await completeShardTask(ctx, taskMessage('r1', 'score', 1, 0), 2, 'reduce', { ms: 1 });
    await completeShardTask(ctx, taskMessage('r1', 'score', 1, 1), 2, 'reduce', { ms: 1 });
    drain(reduce);

    // Act
    await completeShardTask(ctx, taskMessage('r1', 'score', 2, 0), 2, 'reduce', { ms: 1 });
    const afterFirst = reduce.size;
    await completeShardTask(ctx, taskMessage('r1', 'score', 2, 1), 2, 'reduce', { ms: 1 });

    // Assess
    expect(afterFirst).toBe(0);
    expect(drain(reduce)).toEqual([{ v: 1, runId: 'r1', stage: 'reduce', round: 2, shard: 0 }]);
  });

  it('a redelivered last shard may enqueue the reduce step again; reduceOnce makes that harmless', async () => {
    // Prepare
    const { ctx, reduce, tasks } = await context();
    await completeShardTask(ctx, taskMessage('r1', 'neighbors', 0, 0), 1, 'propagate', { ms: 1 });
    await completeShardTask(ctx, taskMessage('r1', 'neighbors', 0, 0), 1, 'propagate', { ms: 1 });
    const messages = drain(reduce);
    let runs = 0;
    const step = async () => {
      runs++;
      return { tasks: [taskMessage('r1', 'score', 1, 0)] };
    };

    // Act
    const results = [];
    for (const message of messages)
      results.push(await reduceOnce(ctx, message as ReturnType<typeof taskMessage>, step));

    // Assess
    expect(messages).toHaveLength(2);
    expect(results).toEqual([true, false]);
    expect(runs).toBe(1);
    expect(drain(tasks)).toEqual([{ v: 1, runId: 'r1', stage: 'score', round: 1, shard: 0 }]);
  });
});

describe('shardTaskDone', () => {
  it('is true once the task wrote its marker', async () => {
    // Prepare
    const { ctx } = await context();
    const task = taskMessage('r1', 'ingest', 0, 3);
    const before = await shardTaskDone(ctx, task);

    // Act
    await completeShardTask(ctx, task, 5, 'collect', { ms: 1 });

    // Assess
    expect(before).toBe(false);
    expect(await shardTaskDone(ctx, task)).toBe(true);
    expect(await shardTaskDone(ctx, taskMessage('r1', 'ingest', 0, 4))).toBe(false);
  });
});

describe('shardMetricsOf', () => {
  it("reads the markers of a stage over every round, not other stages'", async () => {
    // Prepare
    const { ctx } = await context();
    await completeShardTask(ctx, taskMessage('r1', 'score', 1, 0), 9, 'reduce', { ms: 3 });
    await completeShardTask(ctx, taskMessage('r1', 'score', 2, 0), 9, 'reduce', { ms: 4 });
    await completeShardTask(ctx, taskMessage('r1', 'ingest', 0, 0), 9, 'collect', { ms: 50, rows: 2, rejected: 1 });

    // Act
    const metrics = await shardMetricsOf(ctx, 'r1', 'score');

    // Assess
    expect(metrics.map((m) => m.ms)).toEqual([3, 4]);
  });

  it("adds the task's peak RSS and the bytes its metered stores moved to what the stage reports", async () => {
    // Prepare
    const { ctx } = await context();
    const meter = { traffic: { bytesRead: 4096, bytesWritten: 512 }, peakRssScope: 'task' as const };

    // Act
    await completeShardTask({ ...ctx, meter }, taskMessage('r1', 'neighbors', 0, 0), 1, 'propagate', {
      ms: 7,
      rows: 3,
    });
    const [metrics] = await shardMetricsOf(ctx, 'r1', 'neighbors');

    // Assess
    expect(metrics).toMatchObject({ ms: 7, rows: 3, bytesRead: 4096, bytesWritten: 512, peakRssScope: 'task' });
    expect(metrics.peakRssBytes).toBeGreaterThan(0);
  });
});

describe('reduceOnce', () => {
  it('runs the step, sends what follows it to the right queues, and marks it done', async () => {
    // Prepare
    const { ctx, store, tasks, reduce } = await context();
    const task = taskMessage('r1', 'collect', 0, 0);

    // Act
    const ran = await reduceOnce(ctx, task, async () => ({
      tasks: [taskMessage('r1', 'neighbors', 0, 0), taskMessage('r1', 'neighbors', 0, 1)],
      reduce: [taskMessage('r1', 'finalize')],
    }));

    // Assess
    expect(ran).toBe(true);
    expect(drain(tasks)).toEqual([
      { v: 1, runId: 'r1', stage: 'neighbors', round: 0, shard: 0 },
      { v: 1, runId: 'r1', stage: 'neighbors', round: 0, shard: 1 },
    ]);
    expect(drain(reduce)).toEqual([{ v: 1, runId: 'r1', stage: 'finalize', round: 0, shard: 0 }]);
    expect(await store.head(keys.advanced('r1', 'collect', 0))).toBeDefined();
  });

  it('a duplicate does not run the step, re-sends nothing, returns false and says so in the log', async () => {
    // Prepare
    const { ctx, tasks, reduce, logged } = await context();
    const task = taskMessage('r1', 'propagate', 0, 0);
    let runs = 0;
    const step = async () => {
      runs++;
      return { tasks: [taskMessage('r1', 'score', 1, 0)], reduce: [taskMessage('r1', 'reduce', 1)] };
    };
    await reduceOnce(ctx, task, step);
    drain(tasks);
    drain(reduce);

    // Act
    const ran = await reduceOnce(ctx, task, step);

    // Assess
    expect(ran).toBe(false);
    expect(runs).toBe(1);
    expect(tasks.idle).toBe(true);
    expect(reduce.idle).toBe(true);
    expect(logged).toEqual(['reduce step already done; duplicate ignored']);
  });

  it('a step that throws is not marked done, sends nothing, and runs again on redelivery', async () => {
    // Prepare
    const { ctx, store, tasks } = await context();
    const task = taskMessage('r1', 'plan');
    let attempts = 0;
    const step = async () => {
      attempts++;
      if (attempts === 1) throw new Error('crash');
      return { tasks: [taskMessage('r1', 'ingest', 0, 0)] };
    };

    // Act
    await expect(reduceOnce(ctx, task, step)).rejects.toThrow('crash');
    const doneAfterCrash = await store.head(keys.advanced('r1', 'plan', 0));
    const sentAfterCrash = tasks.size;
    const ran = await reduceOnce(ctx, task, step);

    // Assess
    expect(doneAfterCrash).toBeUndefined();
    expect(sentAfterCrash).toBe(0);
    expect(ran).toBe(true);
    expect(attempts).toBe(2);
    expect(drain(tasks)).toEqual([{ v: 1, runId: 'r1', stage: 'ingest', round: 0, shard: 0 }]);
  });

  it('the same stage in another round, or another run, is a different step', async () => {
    // Prepare
    const { ctx } = await context();
    const step = async () => ({});
    await reduceOnce(ctx, taskMessage('r1', 'reduce', 1), step);

    // Act
    const results = [
      await reduceOnce(ctx, taskMessage('r1', 'reduce', 2), step),
      await reduceOnce(ctx, taskMessage('r2', 'reduce', 1), step),
      await reduceOnce(ctx, taskMessage('r1', 'reduce', 1), step),
    ];

    // Assess
    expect(results).toEqual([true, true, false]);
  });
});
