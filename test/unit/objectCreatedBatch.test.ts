import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../lib/adapters/errors.ts';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { InProcessQueue } from '../../lib/adapters/inProcessQueue.ts';
import type { ObjectStore } from '../../lib/adapters/objectStore.ts';
import { handleObjectCreatedBatch } from '../../lib/hosts/serverless/objectCreatedBatch.ts';
import { type RunRecord, readRun } from '../../lib/pipeline/run/runRecord.ts';
import { objectCreatedBody, sqsEvent } from '../support/sqsEvents.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

/**
 * The events queue's handler (functions/onObjectCreated.ts): one run per dataset of a batch of S3 notifications,
 * and batch item failures (Powertools' processPartialResponse) only for the records whose dataset's run could not
 * be started now.
 */

const BUCKET = 'pseudolabel-data';
const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** A store holding incoming/<dataset>/data.csv for each dataset (and its pseudolabel.json when given). */
async function storeWith(datasets: Record<string, unknown>): Promise<FilesystemObjectStore> {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-object-created-'));
  roots.push(root);
  for (const [dataset, options] of Object.entries(datasets)) {
    await mkdir(path.join(root, 'incoming', dataset), { recursive: true });
    await writeFile(path.join(root, 'incoming', dataset, 'data.csv'), 'id,x,label\n1,0.5,a\n2,0.7,\n');
    if (options !== undefined) {
      await writeFile(path.join(root, 'incoming', dataset, 'pseudolabel.json'), JSON.stringify(options));
    }
  }
  return new FilesystemObjectStore(root);
}

function runtimeOver(store: ObjectStore) {
  const reduce = new InProcessQueue();
  const runtime = {
    settings: {
      bucket: BUCKET,
      tasksQueueUrl: 'tasks',
      reduceQueueUrl: 'reduce',
      maxReceiveCount: 3,
      retryDelaysSeconds: [30, 120, 600],
    },
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    ctx: filesystemStageContext(store, { reduce }),
  };
  return { runtime, reduce };
}

/** An events-queue batch whose records carry the S3 notification of each key (or a raw body). */
function eventOf(bodies: ReadonlyArray<{ key: string; bucket?: string } | string>): SQSEvent {
  return sqsEvent(
    bodies.map((body) => ({
      body: typeof body === 'string' ? body : objectCreatedBody(body.bucket ?? BUCKET, body.key),
    })),
    'pseudolabel-events',
  );
}

/** Every run.json in the store. */
async function listRuns(store: ObjectStore): Promise<RunRecord[]> {
  const keys = (await store.list('runs/')).map((info) => info.key).filter((key) => key.endsWith('/run.json'));
  return Promise.all(keys.map((key) => readRun(store, key.split('/')[1])));
}

function drained(queue: InProcessQueue): unknown[] {
  const bodies: unknown[] = [];
  for (let message = queue.receive(); message; message = queue.receive()) bodies.push(message.body);
  return bodies;
}

describe('handleObjectCreatedBatch', () => {
  it('starts one run per dataset of the batch, whatever the number of its records', async () => {
    // Prepare: two uploads to dataset a, one to b, one to another bucket, one record that is not a notification
    const store = await storeWith({ a: undefined, b: undefined });
    const { runtime, reduce } = runtimeOver(store);
    const event = eventOf([
      { key: 'incoming/a/data.csv' },
      { key: 'incoming/a/pseudolabel.json' },
      { key: 'incoming/b/data.csv' },
      { key: 'incoming/b/data.csv', bucket: 'elsewhere' },
      'not json',
    ]);
    // Act
    const response = await handleObjectCreatedBatch(runtime, event);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const runs = await listRuns(store);
    expect(runs.map((run) => run.dataset).sort()).toEqual(['a', 'b']);
    expect(drained(reduce).map((body) => (body as { stage: string }).stage)).toEqual(['plan', 'plan']);
  });

  it('reports as failed exactly the records whose dataset could not start a run now', async () => {
    // Prepare: listing incoming/broken/ fails as an unavailable store would; dataset ok is fine
    const store = await storeWith({ ok: undefined, broken: undefined });
    const flaky: ObjectStore = Object.create(store);
    flaky.list = vi.fn(async (prefix: string) => {
      if (prefix.startsWith('incoming/broken/')) throw new StoreUnavailableError(prefix, new Error('reset'));
      return store.list(prefix);
    });
    const { runtime } = runtimeOver(flaky);
    const event = eventOf([
      { key: 'incoming/broken/data.csv' },
      { key: 'incoming/ok/data.csv' },
      { key: 'incoming/broken/more.csv' },
    ]);
    // Act
    const response = await handleObjectCreatedBatch(runtime, event);
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }, { itemIdentifier: 'm-2' }]);
    expect((await listRuns(store)).map((run) => run.dataset)).toEqual(['ok']);
    expect(vi.mocked(flaky.list).mock.calls.filter(([prefix]) => prefix === 'incoming/broken/')).toHaveLength(1);
  });

  it('records a failed run for invalid options and does not redeliver the record', async () => {
    // Prepare
    const store = await storeWith({ bad: { neighbors: -1 } });
    const { runtime, reduce } = runtimeOver(store);
    // Act
    const response = await handleObjectCreatedBatch(runtime, eventOf([{ key: 'incoming/bad/pseudolabel.json' }]));
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const [run] = await listRuns(store);
    expect({ dataset: run.dataset, status: run.status }).toEqual({ dataset: 'bad', status: 'failed' });
    expect(run.error).toMatch(/neighbors/);
    expect(drained(reduce)).toEqual([]);
  });
});
