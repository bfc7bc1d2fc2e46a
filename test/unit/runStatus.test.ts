import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import type { RunReport } from '../../lib/pipeline/outputs/runReport.ts';
import type { RunRecord } from '../../lib/pipeline/run/runRecord.ts';
import { formatStatus, latestRunId, outputStatus, progressLine, runStatus } from '../../lib/pipeline/run/runStatus.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { sampleReport } from './sampleReport.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function freshStore(): Promise<FilesystemObjectStore> {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-run-status-'));
  roots.push(root);
  return new FilesystemObjectStore(root);
}

function record(runId: string, changes: Partial<RunRecord> = {}): RunRecord {
  return {
    runId,
    dataset: 'ds',
    inputRoot: 'file:///data',
    inputs: [{ key: 'incoming/ds/a.csv', size: 10, etag: 'e' }],
    options: parseRunOptions({}),
    status: 'running',
    stage: 'plan',
    round: 0,
    shards: 0,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    timings: {},
    ...changes,
  };
}

async function writeRecord(store: FilesystemObjectStore, run: RunRecord): Promise<void> {
  await store.put(keys.run(run.runId), JSON.stringify(run));
}

const at = (iso: string) => new Date(iso);

/** A report of 100 rows, 5 given, 1 rejected, 3 unreached after its last round (2). */
function report(runId: string): RunReport {
  const counts = { given: { a: 5 }, propagated: { a: 92 }, pseudo: {}, none: { a: 2, b: 1 } };
  const rounds = [0, 1, 2].map((round) => ({ round, added: 0, counts, confidenceHistogram: [] }));
  return sampleReport({ runId, method: 'self-training', n: 100, given: 5, rejected: 1, rounds });
}

describe('runStatus', () => {
  it('is undefined for a run that does not exist', async () => {
    // Prepare
    const store = await freshStore();

    // Act
    const view = await runStatus(store, 'nope');

    // Assess
    expect(view).toBeUndefined();
  });

  it('counts the markers of the current shard stage and round', async () => {
    // Prepare
    const store = await freshStore();
    await writeRecord(store, record('r1', { stage: 'score', round: 2, shards: 4 }));
    for (const shard of [0, 1, 3]) await store.put(keys.marker('r1', 'score', 2, shard), '{}');
    for (const shard of [0, 1, 2, 3]) await store.put(keys.marker('r1', 'score', 1, shard), '{}');
    await store.put(keys.marker('r1', 'ingest', 0, 2), '{}');

    // Act
    const view = await runStatus(store, 'r1', at('2025-01-01T00:01:30.040Z'));

    // Assess
    expect(view).toEqual({
      runId: 'r1',
      dataset: 'ds',
      status: 'running',
      stage: 'score',
      round: 2,
      shardsDone: 3,
      shardsTotal: 4,
      progress: [
        { stage: 'ingest', round: 0, done: 1, total: 4 },
        { stage: 'score', round: 1, done: 4, total: 4 },
        { stage: 'score', round: 2, done: 3, total: 4 },
      ],
      elapsedSeconds: 90,
    });
  });

  it('shows no shard counts during a reduce step', async () => {
    // Prepare
    const store = await freshStore();
    await writeRecord(store, record('r1', { stage: 'propagate', shards: 4 }));
    await store.put(keys.marker('r1', 'neighbors', 0, 0), '{}');

    // Act
    const view = await runStatus(store, 'r1', at('2025-01-01T00:00:01.250Z'));

    // Assess
    expect(view!.shardsDone).toBe(0);
    expect(view!.shardsTotal).toBe(0);
    expect(view!.elapsedSeconds).toBe(1.3);
  });

  it('a succeeded run shows every shard done, the elapsed time to its end and where the output is', async () => {
    // Prepare
    const store = await freshStore();
    await writeRecord(
      store,
      record('r1', { status: 'succeeded', stage: 'finalize', shards: 5, finishedAt: '2025-01-01T00:00:42.000Z' }),
    );

    // Act
    const view = await runStatus(store, 'r1', at('2025-06-01T00:00:00.000Z'));

    // Assess
    expect(view).toEqual({
      runId: 'r1',
      dataset: 'ds',
      status: 'succeeded',
      stage: 'finalize',
      round: 0,
      shardsDone: 5,
      shardsTotal: 5,
      progress: [],
      elapsedSeconds: 42,
      output: store.describe('runs/r1/output/'),
    });
  });

  it("shows the current shard stage before its first marker and leaves out the reduce steps' markers", async () => {
    // Prepare
    const store = await freshStore();
    await writeRecord(store, record('r1', { stage: 'neighbors', shards: 2 }));
    for (const shard of [0, 1]) await store.put(keys.marker('r1', 'ingest', 0, shard), '{}');
    await store.put(keys.advanced('r1', 'collect', 0), 'x');

    // Act
    const view = await runStatus(store, 'r1');

    // Assess
    expect(view!.progress).toEqual([
      { stage: 'ingest', round: 0, done: 2, total: 2 },
      { stage: 'neighbors', round: 0, done: 0, total: 2 },
    ]);
    expect([view!.shardsDone, view!.shardsTotal]).toEqual([0, 2]);
  });

  it('a succeeded run carries what its report.json says', async () => {
    // Prepare
    const store = await freshStore();
    await writeRecord(store, record('r1', { status: 'succeeded', stage: 'finalize', round: 2, shards: 1 }));
    await store.put(keys.output('r1', 'report.json'), JSON.stringify(report('r1')));

    // Act
    const view = await runStatus(store, 'r1');

    // Assess
    expect(view!.result).toEqual({ method: 'self-training', rows: 100, given: 5, labelled: 97, rejected: 1 });
  });

  it('a failed run carries its error', async () => {
    // Prepare
    const store = await freshStore();
    await writeRecord(
      store,
      record('r1', {
        status: 'failed',
        stage: 'plan',
        error: 'no labels',
        finishedAt: '2025-01-01T00:00:03.000Z',
      }),
    );

    // Act
    const view = await runStatus(store, 'r1');

    // Assess
    expect(view!.status).toBe('failed');
    expect(view!.error).toBe('no labels');
    expect(view!.output).toBeUndefined();
    expect(view!.elapsedSeconds).toBe(3);
  });
});

describe('outputStatus', () => {
  it('is what the report.json of an output folder says', async () => {
    // Prepare
    const store = await freshStore();
    await store.put('report.json', JSON.stringify(report('r9')));

    // Act
    const view = await outputStatus(store);

    // Assess
    expect(view).toEqual({
      runId: 'r9',
      status: 'succeeded',
      stage: 'finalize',
      round: 2,
      shardsDone: 0,
      shardsTotal: 0,
      progress: [],
      output: store.describe(''),
      result: { method: 'self-training', rows: 100, given: 5, labelled: 97, rejected: 1 },
    });
  });

  it('is undefined for a folder without report.json', async () => {
    // Prepare
    const store = await freshStore();
    await store.put('labels.csv', 'id,label\n');

    // Act
    const view = await outputStatus(store);

    // Assess
    expect(view).toBeUndefined();
  });
});

describe('latestRunId', () => {
  it('is the run created last, whatever the order of the ids', async () => {
    // Prepare
    const store = await freshStore();
    await writeRecord(store, record('a-run', { createdAt: '2025-03-01T00:00:00.000Z' }));
    await writeRecord(store, record('b-run', { createdAt: '2025-05-01T00:00:00.000Z' }));
    await writeRecord(store, record('c-run', { createdAt: '2025-04-01T00:00:00.000Z' }));
    await store.put('runs/z-partial/plan.json', '{}');

    // Act
    const latest = await latestRunId(store);

    // Assess
    expect(latest).toBe('b-run');
  });

  it('is undefined without runs', async () => {
    // Prepare
    const store = await freshStore();
    await store.put('incoming/ds/a.csv', 'x\n1\n');

    // Act
    const latest = await latestRunId(store);

    // Assess
    expect(latest).toBeUndefined();
  });
});

describe('formatStatus', () => {
  it('writes one line per field, the round only after round 0', () => {
    // Act
    const text = formatStatus({
      runId: 'r1',
      dataset: 'ds',
      status: 'running',
      stage: 'score',
      round: 2,
      shardsDone: 3,
      shardsTotal: 4,
      progress: [],
      elapsedSeconds: 90.5,
    });

    // Assess
    expect(text).toBe(
      'run      r1\ndataset  ds\nstatus   running\nstage    score (round 2)\nshards   3/4\nelapsed  90.5 s\n',
    );
  });

  it('adds the error and output lines when present, leaves out shards when there are none', () => {
    // Act
    const text = formatStatus({
      runId: 'r1',
      dataset: 'ds',
      status: 'failed',
      stage: 'plan',
      round: 0,
      shardsDone: 0,
      shardsTotal: 0,
      progress: [],
      elapsedSeconds: 1,
      error: 'boom',
      output: '/out/',
    });

    // Assess
    expect(text.split('\n')).toEqual([
      'run      r1',
      'dataset  ds',
      'status   failed',
      'stage    plan',
      'elapsed  1 s',
      'error    boom',
      'output   /out/',
      '',
    ]);
  });
});

describe('progressLine', () => {
  it('names status, stage, round, shards and elapsed time, leaving out what is absent', () => {
    // Prepare
    const base = { runId: 'r1', status: 'running', progress: [] } as const;

    // Act
    const lines = [
      progressLine({ ...base, stage: 'score', round: 2, shardsDone: 1, shardsTotal: 4, elapsedSeconds: 3 }),
      progressLine({ ...base, stage: 'propagate', round: 0, shardsDone: 0, shardsTotal: 0 }),
    ];

    // Assess
    expect(lines).toEqual(['running: score round 2 1/4 shards, 3.0 s', 'running: propagate']);
  });
});
