import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { knnSearch } from '../../lib/graph/knnSearch.ts';
import { runEmbedded } from '../../lib/hosts/embedded/embeddedRunner.ts';
import { unpackArrays } from '../../lib/pipeline/binaryArrays.ts';
import { datasetKeys } from '../../lib/pipeline/datasets/datasetVersions.ts';
import { featuresFile } from '../../lib/pipeline/datasets/versionModel.ts';
import { indexKeys, type VersionIndex } from '../../lib/pipeline/incremental/versionIndex.ts';
import { readJson } from '../../lib/pipeline/jsonObjects.ts';
import type { RunReport } from '../../lib/pipeline/outputs/runReport.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import { ROOT, recordingLog, removeTempDirs, tempDir } from './support/pipelineHarness.ts';

afterAll(removeTempDirs);

const OPTIONS = parseRunOptions({ neighborsMode: 'exact', workers: 1, neighbors: 6, shards: 4 });
const APPROX = parseRunOptions({ neighborsMode: 'approx', workers: 1, neighbors: 7, shards: 4 });

async function readReport(dir: string): Promise<RunReport> {
  return JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as RunReport;
}

/** Runs `input` with --dataset `dataset` (or none) into `out` with the state in `stateDir`. */
function run(input: string, out: string, stateDir: string, dataset?: string) {
  return runEmbedded({ input, out, stateDir, options: OPTIONS, ...(dataset ? { dataset } : {}) });
}

/** Runs of dataset `dataset` over `data` with APPROX: `version(out)` writes `dir`/out, the state in `dir`/state. */
function approxVersions(dir: string, data: string, dataset: string) {
  return (out: string) =>
    runEmbedded({ input: data, out: join(dir, out), stateDir: join(dir, 'state'), options: APPROX, dataset });
}

/** A fresh directory with an empty input directory `data` in it. */
async function workDir(): Promise<{ dir: string; data: string }> {
  const dir = await tempDir();
  const data = join(dir, 'data');
  await mkdir(data);
  return { dir, data };
}

/** examples/digits.csv's rows, and `file(from, to)`: the CSV of rows [from, to) under its header. */
async function digits(): Promise<{ lines: string[]; file: (from: number, to: number) => string }> {
  const [header, ...lines] = (await readFile(join(ROOT, 'examples/digits.csv'), 'utf8')).trimEnd().split('\n');
  return { lines, file: (from, to) => `${[header, ...lines.slice(from, to)].join('\n')}\n` };
}

/** The labels.csv a run wrote into `dir`/`out`. */
function labelsIn(dir: string, out: string): Promise<string> {
  return readFile(join(dir, out, 'labels.csv'), 'utf8');
}

/** Recall@k of `lists` against exact lists of the same rows (self included). */
function recallOf(lists: Int32Array, exact: Int32Array, k: number): number {
  let found = 0;
  for (let q = 0; q < exact.length / k; q++) {
    const row = new Set(lists.subarray(q * k, (q + 1) * k));
    for (let j = q * k; j < (q + 1) * k; j++) if (row.has(exact[j])) found++;
  }
  return found / exact.length;
}

describe('incremental dataset runs (exact neighbours)', () => {
  it('reingests only the added file, reuses the old lists, and writes the labels of a from-scratch run', async () => {
    // Prepare: a dataset of two files (version 1), then a third file added
    const { dir, data } = await workDir();
    const rows = blobRows({ n: 480, d: 4, seed: 21, labelledPerClass: 2 });
    await writeInput(data, 'part-1.csv', csvText(rows.slice(0, 200)));
    await writeInput(data, 'part-2.csv', csvText(rows.slice(200, 400)));
    const state = join(dir, 'state');
    await run(data, join(dir, 'v1'), state, 'growing');
    await writeInput(data, 'part-3.csv', csvText(rows.slice(400)));

    // Act
    const second = await run(data, join(dir, 'v2'), state, 'growing');
    await run(data, join(dir, 'scratch'), join(dir, 'scratch-state'));

    // Assess
    expect(second.version).toBe(2);
    expect(second.inputs.map((input) => input.key)).toEqual(['part-1.csv', 'part-2.csv', 'part-3.csv']);
    const report = await readReport(join(dir, 'v2'));
    const index = await readJson<VersionIndex>(new FilesystemObjectStore(state), indexKeys.index('growing', 1));
    const oldShards = index.shards.length;
    expect(report.incremental).toMatchObject({ baseVersion: 1, shards: { reused: oldShards } });
    expect(report.incremental?.shards.ingested).toBeGreaterThan(0);
    const ingested = second.incremental?.reused.flatMap((base, s) => (base < 0 ? [s] : []));
    expect(ingested).toEqual(second.inputs[2].shards);
    expect(report.incremental?.shards.ingested).toBe(ingested?.length);
    expect(report.incremental?.lists).toEqual({
      reused: true,
      updatedRows: 400,
      recomputedRows: 80,
      recomputed: [[400, 480]],
    });
    expect(await labelsIn(dir, 'v2')).toBe(await labelsIn(dir, 'scratch'));
    // The version's model keeps each reused shard's features from version 1 (a hard link on disk), not rewritten.
    const featuresOf = (version: number, shard: number) =>
      stat(join(state, datasetKeys.versionFile('growing', version, `model/${featuresFile(shard)}`)));
    for (const [s, base] of (second.incremental?.reused ?? []).entries()) {
      if (base >= 0) expect((await featuresOf(2, s)).ino).toBe((await featuresOf(1, base)).ino);
    }
  });

  it('without --shards, plans the added file on its own and still writes the from-scratch labels', async () => {
    // Prepare: version 1 of one file on 2 workers (2 shards); a small file of 40 rows added (freshShardsOfFiles:
    // under 16 MiB of new input, one shard)
    const { dir, data } = await workDir();
    const rows = blobRows({ n: 440, d: 4, seed: 23, labelledPerClass: 2 });
    const options = parseRunOptions({ neighborsMode: 'exact', workers: 2, neighbors: 6 });
    await writeInput(data, 'part-1.csv', csvText(rows.slice(0, 400)));
    const state = join(dir, 'state');
    await runEmbedded({ input: data, out: join(dir, 'v1'), stateDir: state, options, dataset: 'split' });
    await writeInput(data, 'part-2.csv', csvText(rows.slice(400)));

    // Act
    const second = await runEmbedded({ input: data, out: join(dir, 'v2'), stateDir: state, options, dataset: 'split' });
    const scratchOut = join(dir, 'scratch');
    await runEmbedded({ input: data, out: scratchOut, stateDir: join(dir, 'scratch-state'), options });

    // Assess
    expect(second.inputs[1].shards).toHaveLength(1);
    expect((await readReport(join(dir, 'v2'))).incremental?.shards).toEqual({ reused: 2, ingested: 1 });
    expect(await labelsIn(dir, 'v2')).toBe(await labelsIn(dir, 'scratch'));
  });

  it('searches again the old rows that lost a neighbour to a changed file', async () => {
    // Prepare: version 1 of two files; then the second file changes
    const { dir, data } = await workDir();
    const rows = blobRows({ n: 420, d: 4, seed: 5, labelledPerClass: 2 });
    await writeInput(data, 'a.csv', csvText(rows.slice(0, 200)));
    await writeInput(data, 'b.csv', csvText(rows.slice(200, 400)));
    const state = join(dir, 'state');
    await run(data, join(dir, 'v1'), state, 'changing');
    await writeInput(data, 'b.csv', csvText([...rows.slice(200, 300), ...rows.slice(400)]));

    // Act
    const second = await run(data, join(dir, 'v2'), state, 'changing');
    await run(data, join(dir, 'scratch'), join(dir, 'scratch-state'));

    // Assess: a.csv reused, b.csv ingested again; rows of a whose lists held a row of the old b searched again
    const report = await readReport(join(dir, 'v2'));
    expect(second.inputs.map((input) => input.key)).toEqual(['a.csv', 'b.csv']);
    const lists = report.incremental?.lists;
    expect(lists?.reused).toBe(true);
    expect(lists?.recomputedRows).toBeGreaterThan(120);
    expect((lists?.updatedRows ?? 0) + (lists?.recomputedRows ?? 0)).toBe(320);
    expect(await labelsIn(dir, 'v2')).toBe(await labelsIn(dir, 'scratch'));
  });
});

describe('incremental dataset runs that cannot reuse the lists', () => {
  it('reuses the shards but searches every row again when --neighbors changed, and says why', async () => {
    // Prepare: version 1 with k = 6, then one more file and k = 8
    const { dir, data } = await workDir();
    const rows = blobRows({ n: 300, d: 4, seed: 8, labelledPerClass: 2 });
    await writeInput(data, 'part-1.csv', csvText(rows.slice(0, 250)));
    const state = join(dir, 'state');
    await run(data, join(dir, 'v1'), state, 'k-changed');
    await writeInput(data, 'part-2.csv', csvText(rows.slice(250)));
    const options = parseRunOptions({ ...OPTIONS, neighbors: 8 });

    // Act
    await runEmbedded({ input: data, out: join(dir, 'v2'), stateDir: state, options, dataset: 'k-changed' });
    await runEmbedded({ input: data, out: join(dir, 'scratch'), stateDir: join(dir, 'scratch-state'), options });

    // Assess
    const report = await readReport(join(dir, 'v2'));
    expect(report.incremental?.shards.reused).toBeGreaterThan(0);
    expect(report.incremental?.lists).toEqual({
      reused: false,
      reason: '--neighbors changed from 6 to 8',
      updatedRows: 0,
      recomputedRows: 300,
      recomputed: [[0, 300]],
    });
    expect(await labelsIn(dir, 'v2')).toBe(await labelsIn(dir, 'scratch'));
  });
});

describe('incremental dataset runs (approximate neighbours)', () => {
  it('keeps the IVF index, searches only what each added file changes, and keeps the recall', async () => {
    // Prepare: examples/digits.csv in two files (version 1, approx), then two more files, one per version
    const { dir, data } = await workDir();
    const { lines, file } = await digits();
    await writeInput(data, 'digits-1.csv', file(0, 800));
    await writeInput(data, 'digits-2.csv', file(800, 1400));
    const state = join(dir, 'state');
    const version = approxVersions(dir, data, 'digits');
    await version('v1');
    await writeInput(data, 'digits-3.csv', file(1400, 1600));
    await version('v2');
    await writeInput(data, 'digits-4.csv', file(1600, lines.length));

    // Act
    const third = await version('v3');

    // Assess: old rows kept their lists with the new rows offered; the lists' recall is that of the target
    const report = await readReport(join(dir, 'v3'));
    expect(third.neighbors?.mode).toBe('approx');
    expect(report.incremental?.lists).toEqual({
      reused: true,
      updatedRows: 1600,
      recomputedRows: lines.length - 1600,
      recomputed: [[1600, lines.length]],
    });
    const store = new FilesystemObjectStore(state);
    const index = await readJson<VersionIndex>(store, indexKeys.index('digits', 3));
    // version 1's shards are kept where version 1 keeps them, not copied into versions 2 and 3
    expect(index.shards.filter((shard) => shard.cellsAt?.version === 1)).toHaveLength(
      (await readJson<VersionIndex>(store, indexKeys.index('digits', 1))).shards.length,
    );
    const parts = await Promise.all(
      index.shards.map(async (_, s) => unpackArrays(await store.get(indexKeys.shardNeighbors('digits', 3, s)))[0]),
    );
    const lists = Int32Array.from(parts.flatMap((part) => [...(part as Int32Array)]));
    const X = Float32Array.from(lines.flatMap((line) => line.split(',').slice(2).map(Number)));
    const exact = knnSearch({ data: X, n: lines.length, d: 64 }, { data: X, n: lines.length, d: 64 }, 7);
    expect(recallOf(lists, exact.indices, 7)).toBeGreaterThanOrEqual(0.95);
  });

  it('builds on the index when the added file holds fewer rows than k', async () => {
    // Prepare: version 1 of 1,400 digits (approx); a file of 3 rows added (its calibration part lists fewer
    // than k = 7 rows per query)
    const { dir, data } = await workDir();
    const { file } = await digits();
    await writeInput(data, 'digits-1.csv', file(0, 1400));
    const version = approxVersions(dir, data, 'few');
    await version('v1');
    await writeInput(data, 'digits-2.csv', file(1400, 1403));

    // Act
    const second = await version('v2');

    // Assess
    expect(second.neighbors).toMatchObject({ mode: 'approx' });
    expect((await readReport(join(dir, 'v2'))).incremental?.lists).toEqual({
      reused: true,
      updatedRows: 1400,
      recomputedRows: 3,
      recomputed: [[1400, 1403]],
    });
    expect((await labelsIn(dir, 'v2')).trimEnd().split('\n')).toHaveLength(1404);
  });
});

describe('incremental dataset runs under faults', () => {
  it('tasks that throw once at random do not change what an incremental approx run writes', async () => {
    // Prepare: digits in two files (version 1, approx), then a third; the clean incremental run is version 2,
    // then the state goes back to version 1
    const { dir, data } = await workDir();
    const { lines, file } = await digits();
    await writeInput(data, 'digits-1.csv', file(0, 900));
    await writeInput(data, 'digits-2.csv', file(900, 1500));
    const state = join(dir, 'state');
    const log = recordingLog();
    const version = (out: string, faults?: { rate: number; seed: number }) =>
      runEmbedded({
        input: data,
        out: join(dir, out),
        stateDir: state,
        options: APPROX,
        dataset: 'faults',
        ...(faults ? { faults, log } : {}),
      });
    await version('v1');
    await writeInput(data, 'digits-3.csv', file(1500, lines.length));
    const latest = join(state, 'datasets/faults/latest.json');
    const first = await readFile(latest);
    await version('clean');
    await rm(join(state, 'datasets/faults/versions/2'), { recursive: true });
    await writeFile(latest, first);

    // Act
    const faulty = await version('faulty', { rate: 0.3, seed: 3 });

    // Assess
    const retried = log.lines.filter((line) => line.message === 'task failed; it will be delivered again');
    expect(retried.length, 'faults were injected').toBeGreaterThan(0);
    expect(faulty).toMatchObject({ status: 'succeeded', version: 2 });
    expect((await readReport(join(dir, 'faulty'))).incremental?.lists?.reused).toBe(true);
    expect(await labelsIn(dir, 'faulty')).toBe(await labelsIn(dir, 'clean'));
  });
});
