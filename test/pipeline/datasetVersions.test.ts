import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { LabelSpreading } from '../../lib/algorithms/labelSpreading.ts';
import { predictCommand } from '../../lib/cli/predictCommand.ts';
import { readDataset } from '../../lib/data/readDataset.ts';
import { runEmbedded } from '../../lib/hosts/embedded/embeddedRunner.ts';
import {
  datasetKeys,
  type LatestVersion,
  publishVersion,
  readLatest,
  readVersion,
} from '../../lib/pipeline/datasets/datasetVersions.ts';
import { versionChanges } from '../../lib/pipeline/datasets/versionChanges.ts';
import { openVersionIvf } from '../../lib/pipeline/datasets/versionIvf.ts';
import { predictProba, type VersionModel } from '../../lib/pipeline/datasets/versionModel.ts';
import { writeVersionRows } from '../../lib/pipeline/datasets/versionRows.ts';
import type { VersionIndex } from '../../lib/pipeline/incremental/versionIndex.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import type { RunReport } from '../../lib/pipeline/outputs/runReport.ts';
import { FAN_OUT_FROM_ROWS_ENV } from '../../lib/pipeline/propagation/propagationFanOut.ts';
import type { RunRecord } from '../../lib/pipeline/run/runRecord.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import { parseLabels, removeTempDirs, tempDir } from './support/pipelineHarness.ts';

afterAll(removeTempDirs);

const OPTIONS = parseRunOptions({ neighborsMode: 'exact', workers: 1, neighbors: 5 });

async function readJsonFile<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

describe('a label store per dataset (pseudolabel run --dataset)', () => {
  it('publishes each run as the next version, latest.json points at it, and the report says what changed', async () => {
    // Prepare: 300 rows, then the same 300 plus 60 more with one more given label that moves a row's class
    const dir = await tempDir();
    const stateDir = join(dir, 'state');
    const rows = blobRows({ n: 360, d: 4, seed: 3 });
    await mkdir(join(dir, 'in1'));
    await mkdir(join(dir, 'in2'));
    const first = await writeInput(join(dir, 'in1'), 'a.csv', csvText(rows.slice(0, 300)));
    await writeInput(join(dir, 'in2'), 'a.csv', csvText(rows.slice(0, 300)));
    await writeInput(join(dir, 'in2'), 'b.csv', csvText(rows.slice(300)));

    // Act
    const run1 = await runEmbedded({
      input: first,
      out: join(dir, 'out1'),
      stateDir,
      options: OPTIONS,
      dataset: 'blobs',
    });
    const run2 = await runEmbedded({
      input: join(dir, 'in2'),
      out: join(dir, 'out2'),
      stateDir,
      options: OPTIONS,
      dataset: 'blobs',
    });

    // Assess
    const store = new FilesystemObjectStore(stateDir);
    expect([run1.version, run2.version]).toEqual([1, 2]);
    expect(await readLatest(store, 'blobs')).toMatchObject({ version: 2, runId: run2.runId });
    const v2 = await readVersion(store, 'blobs', 2);
    expect(v2).toMatchObject({ runId: run2.runId, rows: 360, previousVersion: 1, labels: 'labels.csv' });
    expect(v2.inputs.map((input) => input.key).sort()).toEqual(['a.csv', 'b.csv']);
    expect(await readFile(join(stateDir, 'datasets/blobs/versions/2/labels.csv'), 'utf8')).toBe(
      await readFile(join(dir, 'out2/labels.csv'), 'utf8'),
    );
    const report1 = await readJsonFile<RunReport>(join(dir, 'out1/report.json'));
    const report2 = await readJsonFile<RunReport>(join(dir, 'out2/report.json'));
    expect(report1.changes).toMatchObject({ added: 300, removed: 0, previousRows: 0 });
    expect(report1.changes?.previousVersion).toBeUndefined();
    expect(report2.changes).toMatchObject({ previousVersion: 1, rows: 360, previousRows: 300, added: 60, removed: 0 });
    const shifted = report2.changes!.confidenceShift.histogram.reduce((a, b) => a + b, 0);
    expect(shifted).toBe(300);
    expect(await readFile(join(dir, 'out2/report.html'), 'utf8')).toContain('data-chart="changes"');
  });

  it('compares versions of several buckets in several compare tasks, as one comparison of their rows would', async () => {
    // Prepare: 70,000 rows (2 buckets of rows), then 3,000 more; self-training (no kNN graph), 3 shards
    const dir = await tempDir();
    const stateDir = join(dir, 'state');
    const rows = blobRows({ n: 73_000, d: 2, seed: 5 });
    await mkdir(join(dir, 'in'));
    await writeInput(join(dir, 'in'), 'a.csv', csvText(rows.slice(0, 70_000)));
    const options = parseRunOptions({ method: 'self-training', workers: 1, shards: 3 });
    const run = (out: string) =>
      runEmbedded({ input: join(dir, 'in'), out: join(dir, out), stateDir, options, dataset: 'many' });
    await run('out1');
    await writeInput(join(dir, 'in'), 'b.csv', csvText(rows.slice(70_000)));

    // Act
    await run('out2');

    // Assess: two compare tasks (one per bucket pair), their tallies added up as one comparison
    const store = new FilesystemObjectStore(stateDir);
    const [v1, v2] = [await readVersion(store, 'many', 1), await readVersion(store, 'many', 2)];
    expect([v1.buckets, v2.buckets]).toEqual([2, 2]);
    const report = await readJsonFile<RunReport>(join(dir, 'out2/report.json'));
    expect(report.stageMetrics?.compare?.tasks).toBe(2);
    const location = (v: typeof v1) => ({
      store,
      prefix: datasetKeys.versionFile('many', v.version, 'rows/'),
      buckets: v.buckets,
      rows: v.rows,
    });
    const whole = await versionChanges({ ...location(v1), version: 1, runId: v1.runId }, location(v2));
    expect(report.changes).toMatchObject({ added: 3000, removed: 0, previousRows: 70_000, rows: 73_000 });
    expect({ ...report.changes, confidenceShift: undefined }).toEqual({ ...whole, confidenceShift: undefined });
    expect(report.changes?.confidenceShift.histogram).toEqual(whole.confidenceShift.histogram);
    expect(report.changes?.confidenceShift.mean).toBeCloseTo(whole.confidenceShift.mean, 12);
  });

  it('a run without --dataset publishes nothing', async () => {
    // Prepare
    const dir = await tempDir();
    const input = await writeInput(dir, 'a.csv', csvText(blobRows({ n: 90, seed: 5 })));

    // Act
    const run = await runEmbedded({ input, out: join(dir, 'out'), stateDir: join(dir, 'state'), options: OPTIONS });

    // Assess
    expect(run.version).toBeUndefined();
    expect(await new FilesystemObjectStore(join(dir, 'state')).list('datasets/')).toEqual([]);
  });

  it('refuses a dataset name that is not one key segment', async () => {
    // Prepare
    const dir = await tempDir();
    const input = await writeInput(dir, 'a.csv', csvText(blobRows({ n: 30, seed: 5 })));

    // Act
    const attempt = runEmbedded({ input, out: join(dir, 'out'), stateDir: dir, options: OPTIONS, dataset: '../x' });

    // Assess
    await expect(attempt).rejects.toThrow(/invalid dataset name "..\/x"/);
  });
});

describe('pseudolabel predict from a version', () => {
  it("labels new rows as LabelSpreading.predict_proba fitted on the run's rows does, with source predicted", async () => {
    // Prepare: a 3-shard run published as version 1; 40 new rows near the same clusters
    const dir = await tempDir();
    const stateDir = join(dir, 'state');
    const rows = blobRows({ n: 340, d: 4, seed: 11 });
    const input = await writeInput(dir, 'train.csv', csvText(rows.slice(0, 300)));
    const fresh = rows.slice(300).map((row) => ({ ...row, label: null }));
    const newRows = await writeInput(dir, 'new.csv', csvText(fresh));
    const options = parseRunOptions({ neighborsMode: 'exact', workers: 1, neighbors: 7, shards: 3 });
    await runEmbedded({ input, out: join(dir, 'out'), stateDir, options, dataset: 'blobs' });
    const { dataset: train } = await readDataset(input);
    const reference = new LabelSpreading({ kernel: 'knn', nNeighbors: 7, alpha: 0.2, maxIter: 30, tol: 1e-3 });
    reference.fit(train.X, train.y);
    const { dataset: test } = await readDataset(newRows, { unlabelled: true });
    const expected = reference.predictProba(test.X);

    // Act
    const code = await predictCommand({
      model: join(stateDir, 'datasets/blobs/versions/1'),
      input: newRows,
      out: join(dir, 'preds'),
    });

    // Assess
    expect(code).toBe(0);
    const labels = parseLabels(await readFile(join(dir, 'preds/labels.csv'), 'utf8'));
    expect(labels.map((l) => l.id)).toEqual(fresh.map((row) => row.id));
    const k = train.classes.length;
    labels.forEach((l, i) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (expected[i * k + c] > expected[i * k + best]) best = c;
      expect(l).toMatchObject({ label: train.classes[best], source: 'predicted' });
      expect(l.confidence).toBeCloseTo(expected[i * k + best], 5);
    });
  });

  it('a fanned-out propagation publishes the same model: predict gives the same labels', async () => {
    // Prepare: the same rows run single-process and fanned out (FAN_OUT_FROM_ROWS_ENV), each as its own dataset
    const dir = await tempDir();
    const stateDir = join(dir, 'state');
    const rows = blobRows({ n: 260, d: 4, seed: 13 });
    const input = await writeInput(dir, 'train.csv', csvText(rows.slice(0, 240)));
    const newRows = await writeInput(dir, 'new.csv', csvText(rows.slice(240).map((row) => ({ ...row, label: null }))));
    const options = parseRunOptions({ neighborsMode: 'exact', workers: 1, neighbors: 5, shards: 3 });
    await runEmbedded({ input, out: join(dir, 'o1'), stateDir, options, dataset: 'single' });
    process.env[FAN_OUT_FROM_ROWS_ENV] = '0';
    try {
      await runEmbedded({ input, out: join(dir, 'o2'), stateDir, options, dataset: 'fanned' });
    } finally {
      delete process.env[FAN_OUT_FROM_ROWS_ENV];
    }

    // Act
    for (const dataset of ['single', 'fanned']) {
      await predictCommand({
        model: join(stateDir, 'datasets', dataset),
        input: newRows,
        out: join(dir, `p-${dataset}`),
      });
    }

    // Assess
    const single = await readFile(join(dir, 'p-single/labels.csv'), 'utf8');
    expect(parseLabels(single).every((l) => l.source === 'predicted')).toBe(true);
    expect(await readFile(join(dir, 'p-fanned/labels.csv'), 'utf8')).toBe(single);
  });

  it('an approximate version predicts through its IVF index, also the cells an incremental version keeps', async () => {
    // Prepare: version 1 of 5,000 rows searched by IVF, version 2 adding 1,000 rows (it keeps version 1's cells
    // objects of the unchanged shards); 400 new rows
    const dir = await tempDir();
    const stateDir = join(dir, 'state');
    const rows = blobRows({ n: 6400, d: 4, seed: 21 });
    const input = join(dir, 'in');
    await mkdir(input);
    await writeInput(input, 'a.csv', csvText(rows.slice(0, 5000)));
    const newRows = await writeInput(dir, 'new.csv', csvText(rows.slice(6000).map((row) => ({ ...row, label: null }))));
    const options = parseRunOptions({ neighborsMode: 'approx', workers: 1, neighbors: 7, shards: 2 });
    await runEmbedded({ input, out: join(dir, 'o1'), stateDir, options, dataset: 'ivf' });
    await writeInput(input, 'b.csv', csvText(rows.slice(5000, 6000)));
    await runEmbedded({ input, out: join(dir, 'o2'), stateDir, options, dataset: 'ivf' });
    const datasetStore = new FilesystemObjectStore(join(stateDir, 'datasets/ivf'));
    const index = await readJsonFile<VersionIndex>(join(stateDir, 'datasets/ivf/versions/2/index/index.json'));
    const model = await readJsonFile<VersionModel>(join(stateDir, 'datasets/ivf/versions/2/model/model.json'));
    const { dataset: fresh } = await readDataset(newRows, { unlabelled: true });

    // Act
    const ivf = await openVersionIvf(datasetStore, 'ivf', 2);
    const [approximate, exact] = await Promise.all(
      [ivf, undefined].map((index) => predictProba(datasetStore, 'versions/2/model/', model, fresh.X, index)),
    );

    // Assess: the index is version 2's (some cells kept from version 1); the labels are the exact search's
    expect(index.shards.some((shard) => shard.cellsAt?.version === 1)).toBe(true);
    expect(index.lists?.mode).toBe('approx');
    expect(ivf?.nprobe).toBe(index.lists?.nprobe);
    const k = model.classes.length;
    const argmax = (p: Float64Array, i: number) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (p[i * k + c] > p[i * k + best]) best = c;
      return best;
    };
    const agreeing = Array.from({ length: fresh.X.n }, (_, i) => argmax(approximate, i) === argmax(exact, i));
    expect(agreeing.filter(Boolean).length).toBeGreaterThanOrEqual(0.98 * fresh.X.n);
  });

  it("refuses new rows whose feature columns differ from the model's, naming the file", async () => {
    // Prepare
    const dir = await tempDir();
    const stateDir = join(dir, 'state');
    const input = await writeInput(dir, 'train.csv', csvText(blobRows({ n: 90, d: 4, seed: 2 })));
    await runEmbedded({ input, out: join(dir, 'out'), stateDir, options: OPTIONS, dataset: 'narrow' });
    const wide = await writeInput(dir, 'wide.csv', csvText(blobRows({ n: 5, d: 5, seed: 2 })));

    // Act
    const attempt = predictCommand({ model: join(stateDir, 'datasets/narrow'), input: wide, out: join(dir, 'p') });

    // Assess
    await expect(attempt).rejects.toThrow(/wide\.csv: feature columns differ from the model's: unexpected "f4"$/);
  });
});

describe('publishing races', () => {
  const OUTPUTS = ['labels.csv', 'report.json'];
  async function succeededRun(store: FilesystemObjectStore, runId: string): Promise<RunRecord> {
    await store.put(keys.output(runId, 'labels.csv'), `id,label,confidence,source\n${runId},a,1.000000,given\n`);
    await store.put(keys.output(runId, 'report.json'), '{}');
    await writeVersionRows(store, datasetKeys.rows(runId), 1, [
      { id: runId, label: 'a', confidence: 1, source: 'given' },
    ]);
    return { runId, dataset: 'race', inputs: [], options: OPTIONS } as unknown as RunRecord;
  }

  it('two runs publishing from the same latest version become two distinct versions; latest is the higher', async () => {
    // Prepare: both runs compare against version 1 (as two retrains started together would)
    const store = new FilesystemObjectStore(await tempDir());
    const ctx = filesystemStageContext(store);
    const base: LatestVersion = { dataset: 'race', version: 1, runId: 'r0', updatedAt: '' };
    await store.put(datasetKeys.versionFile('race', 1, 'claim.json'), JSON.stringify({ runId: 'r0' }));
    await store.put(datasetKeys.latest('race'), JSON.stringify(base));
    const runs = await Promise.all(['ra', 'rb', 'rc'].map((id) => succeededRun(store, id)));
    const changes = await versionChanges(undefined, { store, prefix: 'x/', buckets: 1, rows: 1 });
    const prepared = { base, files: ['rows/00000.jsonl'], buckets: 1, classes: ['a'], changes };

    // Act
    const versions = await Promise.all(runs.map((run) => publishVersion(ctx, run, prepared, OUTPUTS)));
    const again = await publishVersion(ctx, runs[0], prepared, OUTPUTS);

    // Assess
    expect([...versions].sort()).toEqual([2, 3, 4]);
    expect(again).toBe(versions[0]);
    expect(await readLatest(store, 'race')).toMatchObject({ version: 4, runId: runs[versions.indexOf(4)].runId });
    for (const [i, run] of runs.entries()) {
      expect(await readVersion(store, 'race', versions[i])).toMatchObject({ runId: run.runId, version: versions[i] });
    }
  });
});
