import { describe, expect, it } from 'vitest';
import { CapacityError } from '../../lib/errors.ts';
import { runInTaskProcess, TaskMemoryError, TaskProcessSlots } from '../../lib/hosts/embedded/taskProcess.ts';

const ALLOCATING_TASK = new URL('../support/allocatingTask.mjs', import.meta.url).href;
const MB = 2 ** 20;
const place = { stage: 'neighbors', round: 0, shard: 3 } as const;

function allocating(mb: number) {
  return { storeRoot: '/nonexistent', body: { mb }, ownProcess: true };
}

describe('runInTaskProcess', () => {
  it('runs the task in a process of its own and returns what it sent and its peak RSS', async () => {
    // Act
    const ended = await runInTaskProcess(ALLOCATING_TASK, allocating(64), place, 1024, 'hint');

    // Assess
    expect(ended.pid).not.toBe(process.pid);
    expect(ended.sent.tasks).toEqual([{ pid: ended.pid, held: 64 }]);
    expect(ended.peakRssBytes).toBeGreaterThan(64 * MB);
    expect(ended.peakRssBytes).toBeLessThan(1024 * MB);
  });

  it('stops a task whose memory outside the V8 heap goes over the limit, naming the task, peak and limit', async () => {
    // Act
    const error = await runInTaskProcess(ALLOCATING_TASK, allocating(600), place, 200, 'more shards help').then(
      () => undefined,
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toBeInstanceOf(TaskMemoryError);
    expect(error).toBeInstanceOf(CapacityError);
    const failure = error as TaskMemoryError;
    expect(failure.peakRssBytes).toBeGreaterThan(200 * MB);
    // killed near the limit, long before the 600 MiB it would have held
    expect(failure.peakRssBytes).toBeLessThan(550 * MB);
    expect(failure.message).toMatch(
      /^task neighbors shard 3 needed more than --task-memory 200 MB \(its peak RSS reached \d+ MB\); more shards help$/,
    );
  });
});

describe('TaskProcessSlots', () => {
  it('runs at most its number of slots at a time, and every piece of work', async () => {
    // Prepare
    const slots = new TaskProcessSlots(2);
    let running = 0;
    let most = 0;
    const work = async (i: number) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5 + (i % 3)));
      running--;
      return i;
    };

    // Act
    const done = await Promise.all(Array.from({ length: 9 }, (_, i) => slots.run(() => work(i))));

    // Assess
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(most).toBe(2);
  });
});
