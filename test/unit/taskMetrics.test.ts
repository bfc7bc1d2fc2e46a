import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import type { StageContext } from '../../lib/pipeline/stageContext.ts';
import { addTaskMetrics, measuredTask, meteredContext, type TaskMetrics } from '../../lib/pipeline/taskMetrics.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

const task = (figures: Partial<TaskMetrics>): TaskMetrics => ({
  ms: 10,
  peakRssBytes: 100,
  peakRssScope: 'task',
  bytesRead: 0,
  bytesWritten: 0,
  ...figures,
});

describe('addTaskMetrics', () => {
  it('keeps the largest task and sums the bytes over the tasks', () => {
    // Prepare
    const tasks = [
      task({ ms: 30, peakRssBytes: 500, bytesRead: 7, bytesWritten: 1 }),
      task({ ms: 80, peakRssBytes: 200, bytesRead: 20, bytesWritten: 2 }),
      task({ ms: 50, peakRssBytes: 900, bytesRead: 3, bytesWritten: 4 }),
    ];

    // Act
    const stage = tasks.reduce(
      (sum: ReturnType<typeof addTaskMetrics> | undefined, t) => addTaskMetrics(sum, t),
      undefined,
    );

    // Assess
    expect(stage).toEqual({
      tasks: 3,
      peakRssBytes: 900,
      peakRssScope: 'task',
      bytesRead: 30,
      bytesWritten: 7,
      largestTaskBytesRead: 20,
      longestTaskMs: 80,
      peakRssBytesByTask: [500, 200, 900],
    });
  });

  it("says 'process' once any task shared its process, and counts figures an old marker lacks as 0", () => {
    // Prepare
    const first = addTaskMetrics(undefined, task({ peakRssScope: 'task' }));

    // Act
    const shared = addTaskMetrics(first, task({ peakRssScope: 'process' }));
    const old = addTaskMetrics(first, { ms: 5 });

    // Assess
    expect(first.peakRssScope).toBe('task');
    expect(shared.peakRssScope).toBe('process');
    expect(old).toMatchObject({ tasks: 2, peakRssScope: 'process', bytesRead: 0, peakRssBytes: 100 });
  });
});

describe('meteredContext', () => {
  it('counts the bytes of the run store and of every input store in one tally', async () => {
    // Prepare
    const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-task-metrics-'));
    const store = new FilesystemObjectStore(root);
    await store.put('input.csv', new Uint8Array(123));
    const host = filesystemStageContext(store);

    // Act
    const ctx = meteredContext(host);
    await ctx.inputs('file:///a').get('input.csv');
    await ctx.inputs('file:///b').getRange('input.csv', 0, 23);
    await ctx.store.put('shard.bin', new Uint8Array(50));
    const figures = measuredTask(ctx.meter, 12);
    await rm(root, { recursive: true, force: true });

    // Assess
    expect(figures).toMatchObject({ ms: 12, bytesRead: 146, bytesWritten: 50, peakRssScope: 'process' });
    expect(figures.peakRssBytes).toBeGreaterThan(10 * 1024 * 1024); // a Node process holds more than 10 MB
  });

  it("marks the peak RSS as the task's own where the host runs one task per process", () => {
    // Prepare
    const host = { ownProcess: true } as StageContext;

    // Act
    const ctx = meteredContext(host);

    // Assess
    expect(ctx.meter.peakRssScope).toBe('task');
  });
});
