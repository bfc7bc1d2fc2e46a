import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { InProcessQueue } from '../../lib/adapters/inProcessQueue.ts';
import { executeTask } from '../../lib/pipeline/executeTask.ts';
import { completeShardTask, reduceOnce } from '../../lib/pipeline/run/fanIn.ts';
import { markRunCancelled, markRunFailed, readRun, updateRun } from '../../lib/pipeline/run/runRecord.ts';
import { startRun } from '../../lib/pipeline/run/startRun.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { taskMessage } from '../../lib/pipeline/taskMessage.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

/**
 * `pseudolabel cancel`: a cancelled run's tasks stop at their next step and nothing more is sent. A task that
 * started before the cancel finishes its own work, but neither the last shard task nor a reduce step sends what
 * would follow.
 */

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** A store on which `pseudolabel cancel` lands between a writer's read of run.json and its write, once. */
class CancelInTheMiddle extends FilesystemObjectStore {
  runId = '';
  override async putIfMatch(key: string, body: Uint8Array | string, etag: string): Promise<boolean> {
    if (this.runId !== '' && key.endsWith('run.json')) {
      const runId = this.runId;
      this.runId = '';
      await markRunCancelled(this, runId, 'cancelled by pseudolabel cancel');
    }
    return super.putIfMatch(key, body, etag);
  }
}

async function cancelledRun() {
  const { store, ...rest } = await runningRun();
  await markRunCancelled(store, rest.runId, 'cancelled by pseudolabel cancel');
  return { store, ...rest };
}

async function runningRun() {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-cancel-'));
  roots.push(root);
  const store = new CancelInTheMiddle(root);
  const tasks = new InProcessQueue();
  const reduce = new InProcessQueue();
  const ctx = filesystemStageContext(store, { tasks, reduce });
  const run = await startRun(ctx, {
    dataset: 'cancel',
    inputRoot: root,
    inputs: [{ key: 'data.csv', size: 10, etag: 'e' }],
    options: parseRunOptions({}),
  });
  reduce.receive(); // the plan step startRun sent
  return { ctx, store, tasks, reduce, runId: run.runId };
}

describe('a cancelled run', () => {
  it('records status cancelled with the reason and the time, and keeps it against a later failure', async () => {
    // Prepare
    const { store, runId } = await cancelledRun();
    // Act
    await markRunFailed(store, runId, { stage: 'neighbors', error: 'too late' });
    const record = await readRun(store, runId);
    // Assess
    expect({ status: record.status, error: record.error }).toEqual({
      status: 'cancelled',
      error: 'cancelled by pseudolabel cancel',
    });
    expect(record.finishedAt).toBeDefined();
  });

  it('ignores its tasks (executeTask): nothing runs, nothing is sent', async () => {
    // Prepare
    const { ctx, tasks, reduce, runId } = await cancelledRun();
    // Act
    await executeTask(ctx, taskMessage(runId, 'plan'));
    // Assess
    expect([tasks.size, reduce.size]).toEqual([0, 0]);
  });

  it('the last shard task to complete does not send the reduce step', async () => {
    // Prepare
    const { ctx, reduce, runId } = await cancelledRun();
    // Act
    await completeShardTask(ctx, taskMessage(runId, 'ingest', 0, 0), 1, 'collect', { ms: 1 });
    // Assess
    expect(reduce.size).toBe(0);
  });

  it('a reduce step that was computing when the run was cancelled sends nothing', async () => {
    // Prepare
    const { ctx, tasks, reduce, runId } = await cancelledRun();
    // Act
    const ran = await reduceOnce(ctx, taskMessage(runId, 'collect'), async () => ({
      tasks: [taskMessage(runId, 'neighbors', 0, 0)],
      reduce: [taskMessage(runId, 'propagate')],
    }));
    // Assess
    expect(ran).toBe(true);
    expect([tasks.size, reduce.size]).toEqual([0, 0]);
  });

  it('a cancel that lands while a reduce step updates run.json stands: the step changes nothing', async () => {
    // Prepare
    const { store, runId } = await runningRun();
    store.runId = runId; // the cancel comes after the step's read, before its write
    // Act
    const returned = await updateRun(store, runId, (record) => {
      record.stage = 'finalize';
      record.status = 'succeeded';
    });
    const record = await readRun(store, runId);
    // Assess
    expect({ status: record.status, stage: record.stage, error: record.error }).toEqual({
      status: 'cancelled',
      stage: 'plan',
      error: 'cancelled by pseudolabel cancel',
    });
    expect(returned.status).toBe('cancelled');
  });
});
