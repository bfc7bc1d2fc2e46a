import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { InProcessQueue } from '../../lib/adapters/inProcessQueue.ts';
import type { ObjectStore } from '../../lib/adapters/objectStore.ts';
import { OptionsError } from '../../lib/errors.ts';
import { datasetOfKey, startDatasetRun } from '../../lib/pipeline/datasets/datasetRuns.ts';
import { executeTask } from '../../lib/pipeline/executeTask.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import { type RunRecord, readRun } from '../../lib/pipeline/run/runRecord.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function context() {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-dataset-runs-'));
  roots.push(root);
  const store = new FilesystemObjectStore(root);
  const tasks = new InProcessQueue();
  const reduce = new InProcessQueue();
  const ctx = filesystemStageContext(store, { tasks, reduce });
  return { ctx, store, tasks, reduce, root };
}

function drain(queue: InProcessQueue): unknown[] {
  const bodies: unknown[] = [];
  for (let message = queue.receive(); message; message = queue.receive()) {
    bodies.push(message.body);
    queue.ack(message.id);
  }
  return bodies;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const CSV = 'id,label,x\n1,a,0.5\n2,,0.7\n';
const JSONL = '{"label":"b","x":1}\n';

describe('datasetOfKey', () => {
  it.each([
    ['incoming/ds/a.csv', 'ds'],
    ['incoming/my data/sub/a.parquet', 'my data'],
    ['incoming/ds/pseudolabel.json', 'ds'],
    ['incoming/ds/', undefined],
    ['incoming/ds', undefined],
    ['incoming//a.csv', undefined],
    ['runs/r1/run.json', undefined],
    ['other/incoming/ds/a.csv', undefined],
  ])('%s -> %s', (key, expected) => {
    // Act
    const dataset = datasetOfKey(key);

    // Assess
    expect(dataset).toBe(expected);
  });
});

describe('startDatasetRun', () => {
  it('starts a run over the data files of the dataset only, with its pseudolabel.json options', async () => {
    // Prepare
    const { ctx, store, reduce, tasks } = await context();
    await store.put('incoming/ds/a.csv', CSV);
    await store.put('incoming/ds/b.jsonl', JSONL);
    await store.put('incoming/ds/notes.txt', 'not data');
    await store.put('incoming/ds/pseudolabel.json', JSON.stringify({ method: 'label-propagation', neighbors: 5 }));
    await store.put('incoming/ds2/other.csv', CSV);

    // Act
    const run = await startDatasetRun(ctx, 'file:///data', 'ds', 'content');

    // Assess
    expect(run).toBeDefined();
    expect(run!.dataset).toBe('ds');
    expect(run!.inputRoot).toBe('file:///data');
    expect(run!.inputs).toEqual([
      { key: 'incoming/ds/a.csv', size: CSV.length, etag: md5(CSV) },
      { key: 'incoming/ds/b.jsonl', size: JSONL.length, etag: md5(JSONL) },
    ]);
    expect(run!.options.method).toBe('label-propagation');
    expect(run!.options.neighbors).toBe(5);
    expect(run!.options.alpha).toBe(0.2);
    expect(run!.status).toBe('running');
    expect(run!.stage).toBe('plan');
    expect(await readRun(store, run!.runId)).toEqual(run);
    expect(drain(reduce)).toEqual([{ v: 1, runId: run!.runId, stage: 'plan', round: 0, shard: 0 }]);
    expect(tasks.idle).toBe(true);
  });

  it('without pseudolabel.json uses the default options', async () => {
    // Prepare
    const { ctx, store } = await context();
    await store.put('incoming/ds/a.csv', CSV);

    // Act
    const run = await startDatasetRun(ctx, 'file:///data', 'ds', 'new');

    // Assess
    expect(run!.options.method).toBe('label-spreading');
    expect(run!.options.neighbors).toBe(10);
  });

  it("'content' identity: the same files give the same run id, started once, its plan step re-sent", async () => {
    // Prepare
    const { ctx, store, reduce } = await context();
    await store.put('incoming/ds/a.csv', CSV);
    const first = await startDatasetRun(ctx, 'file:///data', 'ds', 'content');
    const runJson = await store.get(keys.run(first!.runId));

    // Act
    const second = await startDatasetRun(ctx, 'file:///data', 'ds', 'content');

    // Assess
    expect(second!.runId).toBe(first!.runId);
    expect(first!.runId).toMatch(/^ds-[0-9a-f]{16}$/);
    expect(second!.createdAt).toBe(first!.createdAt);
    expect(await store.get(keys.run(first!.runId))).toEqual(runJson);
    expect((await store.list('runs/')).map((info) => info.key)).toEqual([keys.run(first!.runId)]);
    const plan = { v: 1, runId: first!.runId, stage: 'plan', round: 0, shard: 0 };
    expect(drain(reduce)).toEqual([plan, plan]);
  });

  it("'content' identity: changed file contents or options give another run id", async () => {
    // Prepare
    const { ctx, store } = await context();
    await store.put('incoming/ds/a.csv', CSV);
    const original = await startDatasetRun(ctx, 'file:///data', 'ds', 'content');

    // Act
    await store.put('incoming/ds/a.csv', `${CSV}3,b,0.9\n`);
    const changedData = await startDatasetRun(ctx, 'file:///data', 'ds', 'content');
    await store.put('incoming/ds/pseudolabel.json', '{"seed": 4}');
    const changedOptions = await startDatasetRun(ctx, 'file:///data', 'ds', 'content');

    // Assess
    const ids = [original!.runId, changedData!.runId, changedOptions!.runId];
    expect(new Set(ids).size).toBe(3);
    expect((await store.list('runs/')).length).toBe(3);
  });

  it("'new' identity gives a fresh run id every time", async () => {
    // Prepare
    const { ctx, store, reduce } = await context();
    await store.put('incoming/ds/a.csv', CSV);

    // Act
    const first = await startDatasetRun(ctx, 'file:///data', 'ds', 'new');
    const second = await startDatasetRun(ctx, 'file:///data', 'ds', 'new');

    // Assess
    expect(first!.runId).not.toBe(second!.runId);
    expect(first!.runId).toMatch(/^ds-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect((await store.list('runs/')).length).toBe(2);
    expect(drain(reduce)).toHaveLength(2);
  });

  it('makes a run id safe from the dataset name', async () => {
    // Prepare
    const { ctx, store } = await context();
    await store.put('incoming/my data+x/a.csv', CSV);

    // Act
    const run = await startDatasetRun(ctx, 'file:///data', 'my data+x', 'content');

    // Assess
    expect(run!.runId).toMatch(/^my_data_x-[0-9a-f]{16}$/);
    expect(run!.dataset).toBe('my data+x');
  });

  it('returns undefined and starts nothing while the dataset holds no data file', async () => {
    // Prepare
    const { ctx, store, reduce } = await context();
    await store.put('incoming/ds/pseudolabel.json', '{}');
    await store.put('incoming/ds/readme.md', '# soon');

    // Act
    const run = await startDatasetRun(ctx, 'file:///data', 'ds', 'content');

    // Assess
    expect(run).toBeUndefined();
    expect(reduce.idle).toBe(true);
    expect(await store.list('runs/')).toEqual([]);
  });

  it('rejects a pseudolabel.json that is not JSON with an OptionsError naming the file', async () => {
    // Prepare
    const { ctx, store, reduce } = await context();
    await store.put('incoming/ds/a.csv', CSV);
    await store.put('incoming/ds/pseudolabel.json', '{"method": ');

    // Act
    const attempt = startDatasetRun(ctx, 'file:///data', 'ds', 'content');

    // Assess
    await expect(attempt).rejects.toThrow(OptionsError);
    await expect(attempt).rejects.toThrow(`${store.describe('incoming/ds/pseudolabel.json')} is not JSON: `);
    expect(reduce.idle).toBe(true);
    const [record] = await runRecords(store);
    expect(record.status).toBe('failed');
    expect(record.error).toMatch(/pseudolabel\.json is not JSON: /);
  });

  it('records invalid options as a failed run (dataset, files, the message), once per upload', async () => {
    // Prepare
    const { ctx, store, reduce } = await context();
    await store.put('incoming/ds/a.csv', CSV);
    await store.put('incoming/ds/pseudolabel.json', '{"alpha": 3, "neighbors": 0}');

    // Act: two notifications of the same upload.
    for (let i = 0; i < 2; i++) await startDatasetRun(ctx, 'file:///data', 'ds', 'content').catch(() => {});

    // Assess
    const records = await runRecords(store);
    expect(records).toHaveLength(1);
    const [record] = records;
    expect({ dataset: record.dataset, status: record.status, stage: record.stage }).toEqual({
      dataset: 'ds',
      status: 'failed',
      stage: 'plan',
    });
    expect(record.inputs.map((input) => input.key)).toEqual(['incoming/ds/a.csv']);
    expect(record.error).toMatch(/^invalid incoming\/ds\/pseudolabel\.json: neighbors: .*; alpha: .*\(got 3\)$/);
    expect(record.finishedAt).toBeDefined();
    expect(reduce.idle).toBe(true);
  });

  it('rejects an invalid option with an OptionsError naming the file and the option', async () => {
    // Prepare
    const { ctx, store, reduce } = await context();
    await store.put('incoming/ds/a.csv', CSV);
    await store.put('incoming/ds/pseudolabel.json', '{"alpha": 3}');

    // Act
    const attempt = startDatasetRun(ctx, 'file:///data', 'ds', 'new');

    // Assess
    await expect(attempt).rejects.toThrow(OptionsError);
    await expect(attempt).rejects.toThrow(/^invalid incoming\/ds\/pseudolabel\.json: alpha: /);
    expect(reduce.idle).toBe(true);
  });
});

describe('bounds of an uploaded pseudolabel.json', () => {
  it('fails the run in its plan step when shards exceeds what the input allows, with the bound in run.json', async () => {
    // Prepare
    const { ctx, store, reduce } = await context();
    await store.put('incoming/bounded/a.csv', CSV);
    await store.put('incoming/bounded/pseudolabel.json', JSON.stringify({ shards: 500 }));
    const run = await startDatasetRun(ctx, 'file:///data', 'bounded', 'content');
    // Act
    for (const body of drain(reduce)) await executeTask(ctx, body);
    // Assess
    const record = await readRun(store, run!.runId);
    expect(record.status).toBe('failed');
    expect(record.error).toMatch(/^shards 500 is more than this input allows: at most 16 /);
    expect(await store.list(`runs/${run!.runId}/shards/`)).toEqual([]);
  });

  it("refuses shards: 100000 above the host's maximum when it reads the options, naming the key", async () => {
    // Prepare
    const { ctx, store } = await context();
    await store.put('incoming/many/a.csv', CSV);
    await store.put('incoming/many/pseudolabel.json', JSON.stringify({ shards: 100_000 }));
    // Act
    const attempt = startDatasetRun(ctx, 'file:///data', 'many', 'content');
    // Assess
    await expect(attempt).rejects.toThrow(OptionsError);
    await expect(attempt).rejects.toThrow("shards: at most 1000, this host's maximum (got 100000)");
  });

  it('refuses neighbors above 1,000 with an OptionsError naming the key', async () => {
    // Prepare
    const { ctx, store } = await context();
    await store.put('incoming/wide/a.csv', CSV);
    await store.put('incoming/wide/pseudolabel.json', JSON.stringify({ neighbors: 5000 }));
    // Act
    const attempt = startDatasetRun(ctx, 'file:///data', 'wide', 'content');
    // Assess
    await expect(attempt).rejects.toThrow(OptionsError);
    await expect(attempt).rejects.toThrow('neighbors: at most 1000 (got 5000)');
  });
});

/** Every run.json under runs/. */
async function runRecords(store: ObjectStore): Promise<RunRecord[]> {
  const listed = (await store.list('runs/')).filter((info) => info.key.endsWith('/run.json'));
  return Promise.all(listed.map(async (info) => JSON.parse(new TextDecoder().decode(await store.get(info.key)))));
}
