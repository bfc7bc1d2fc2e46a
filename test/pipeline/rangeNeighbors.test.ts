import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingObjectStore } from '../../lib/adapters/countingObjectStore.ts';
import type { ObjectStore } from '../../lib/adapters/objectStore.ts';
import { buildIvfCells, ivfCellSizes } from '../../lib/graph/ivf/ivfIndex.ts';
import { ivfSearch } from '../../lib/graph/ivf/ivfSearch.ts';
import { firstCells, KEPT_NEAREST_CELLS, nearestCells, probeCells } from '../../lib/graph/ivf/probeCells.ts';
import type { KnnResult } from '../../lib/graph/knnSearch.ts';
import { unpackArrays } from '../../lib/pipeline/binaryArrays.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import { readIvfModel } from '../../lib/pipeline/neighbors/ivfObjects.ts';
import { readRun } from '../../lib/pipeline/run/runRecord.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { loadShardRows, readCollected } from '../../lib/pipeline/shards/collected.ts';
import type { StageContext } from '../../lib/pipeline/stageContext.ts';
import { gatherStage } from '../../lib/pipeline/stages/gather.ts';
import { neighborsStage, QUERY_BLOCK_ROWS_ENV, SEPARATE_PARTS_BYTES_ENV } from '../../lib/pipeline/stages/neighbors.ts';
import { probesStage } from '../../lib/pipeline/stages/probes.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';
import { type DrivenRun, driveRun } from './support/manualDriver.ts';
import { ROOT, removeTempDirs, tempDir } from './support/pipelineHarness.ts';

/**
 * Approximate neighbours by cell range (cells objects per range and shard, one probes task per shard routing the
 * rows as queries to the ranges they probe, one neighbors task per range searching them among its members, one
 * gather task per shard merging the partial lists): every shard's neighbors.bin holds, bit for bit, the lists of
 * one in-process IVF search over all rows (exact within each row's probed cells, ties by lower global index), for
 * 1, 3 and 8 shards and under duplicated, reordered deliveries.
 */

const DIGITS = join(ROOT, 'examples/digits.csv');

afterAll(removeTempDirs);

function contextOf(run: DrivenRun, store: ObjectStore = run.store): StageContext {
  return filesystemStageContext(store, { log: run.log });
}

/** A counting store that also keeps the bytes it read of each key. */
class KeyRecordingStore extends CountingObjectStore {
  readonly bytesByKey = new Map<string, number>();
  private noted(key: string, body: Uint8Array): Uint8Array {
    this.bytesByKey.set(key, (this.bytesByKey.get(key) ?? 0) + body.byteLength);
    return body;
  }
  override async get(key: string): Promise<Uint8Array> {
    return this.noted(key, await super.get(key));
  }
  override async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    return this.noted(key, await super.getRange(key, start, end));
  }
}

/** The shards' neighbors.bin, concatenated in shard (= row) order. */
async function runLists(run: DrivenRun): Promise<KnnResult> {
  const ctx = contextOf(run);
  const collected = await readCollected(ctx, run.runId);
  const k = (await readRun(run.store, run.runId)).options.neighbors;
  const indices = new Int32Array(collected.n * k);
  const distances = new Float64Array(collected.n * k);
  for (let s = 0; s < collected.shards.length; s++) {
    const [shardIndices, shardDistances] = unpackArrays(await run.store.get(keys.shardNeighbors(run.runId, s)));
    indices.set(shardIndices as Int32Array, collected.shards[s].offset * k);
    distances.set(shardDistances as Float64Array, collected.shards[s].offset * k);
  }
  return { n: collected.n, k, indices, distances };
}

/** One IVF search of every row in one process, with the run's calibrated model: the reference lists. */
async function referenceLists(run: DrivenRun): Promise<KnnResult> {
  const ctx = contextOf(run);
  const collected = await readCollected(ctx, run.runId);
  const k = (await readRun(run.store, run.runId)).options.neighbors;
  const { model } = await readIvfModel(ctx, run.runId);
  const parts = [];
  for (let s = 0; s < collected.shards.length; s++) parts.push((await loadShardRows(ctx, run.runId, s, collected)).X);
  const data = new Float32Array(collected.n * collected.d);
  parts.forEach((X, s) => {
    data.set(X.data, collected.shards[s].offset * collected.d);
  });
  const X = { data, n: collected.n, d: collected.d };
  const nearest = nearestCells(model, X, Math.min(KEPT_NEAREST_CELLS, model.nlist));
  const cells = buildIvfCells(model, X, 0, firstCells(nearest));
  const { probes } = probeCells(model, X, { minMembers: k, cellSizes: ivfCellSizes([cells]), nearest });
  return ivfSearch(X, probes, [cells], k);
}

describe('examples/digits.csv, approx neighbours by cell range', () => {
  const runs = new Map<string, DrivenRun>();

  beforeAll(async () => {
    const options = (shards: number) => parseRunOptions({ neighborsMode: 'approx', shards, workers: 1 });
    for (const shards of [1, 3, 8]) {
      runs.set(`${shards}`, await driveRun(DIGITS, await tempDir(), options(shards), `range-lists-${shards}`));
    }
    // Every message twice, delivered in a seeded random order, three tasks at a time.
    const duplicated = { seed: 5, copies: () => 2, concurrency: 3 };
    runs.set('8 duplicated', await driveRun(DIGITS, await tempDir(), options(8), 'range-lists-dup', duplicated));
    // The parts copied into one set of lists, as tasks of thousands of parts do.
    process.env[SEPARATE_PARTS_BYTES_ENV] = '-1';
    try {
      runs.set('3 copied', await driveRun(DIGITS, await tempDir(), options(3), 'range-lists-copied'));
    } finally {
      delete process.env[SEPARATE_PARTS_BYTES_ENV];
    }
    // Every source shard's queries searched as a block of their own.
    process.env[QUERY_BLOCK_ROWS_ENV] = '1';
    try {
      runs.set('8 in blocks', await driveRun(DIGITS, await tempDir(), options(8), 'range-lists-blocks'));
    } finally {
      delete process.env[QUERY_BLOCK_ROWS_ENV];
    }
  }, 120_000);

  it.each(['1', '3', '8', '8 duplicated', '3 copied', '8 in blocks'])(
    '%s shards: lists equal one in-process search bit for bit',
    async (name) => {
      // Prepare
      const run = runs.get(name) as DrivenRun;
      const reference = await referenceLists(run);
      // Act
      const lists = await runLists(run);
      // Assess
      expect((await readRun(run.store, run.runId)).neighbors?.mode).toBe('approx');
      expect(lists.indices).toEqual(reference.indices);
      expect(lists.distances).toEqual(reference.distances);
    },
  );

  it('plans one probes task per shard, one neighbors task per cell range, and the ranges split the rows', async () => {
    // Prepare
    const run = runs.get('8') as DrivenRun;
    const record = await readRun(run.store, run.runId);
    // Act
    const ranges = record.neighbors?.ranges ?? 0;
    const shardsOf = (stage: string) =>
      run.sent.filter((delivery) => delivery.body.stage === stage).map((delivery) => delivery.body.shard);
    // Assess
    expect(ranges).toBeGreaterThan(1);
    expect(record.neighbors?.queriesRouted).toBe(true);
    expect(shardsOf('probes')).toEqual(Array.from({ length: 8 }, (_, s) => s));
    expect(shardsOf('neighbors')).toEqual(Array.from({ length: ranges }, (_, r) => r));
    expect(shardsOf('gather')).toEqual(Array.from({ length: 8 }, (_, s) => s));
  });

  it('a range task reads only its own cells objects and the queries routed to it', async () => {
    // Prepare
    const run = runs.get('3') as DrivenRun;
    const tasks = run.sent.filter((delivery) => delivery.body.stage === 'neighbors').map((delivery) => delivery.body);
    const foreign: string[] = [];
    let routedRead = 0;

    // Act: every neighbors task again (a redelivery), recording the keys it reads.
    for (const task of tasks) {
      const store = new KeyRecordingStore(run.store);
      await neighborsStage(contextOf(run, store), task);
      const ownPrefix = keys.rangeCells(run.runId, task.shard, 0).replace(/[^/]+\/cells\.bin$/, '');
      for (const [key, bytes] of store.bytesByKey) {
        if (!key.includes('/ranges/')) continue;
        if (!key.startsWith(ownPrefix)) foreign.push(key);
        if (key.endsWith('/queries.bin')) routedRead += bytes;
      }
    }

    // Assess
    expect(foreign).toEqual([]);
    expect(routedRead).toBeGreaterThan(0); // some rows probed another range than their own
  });

  it('redelivered probes, neighbors and gather tasks rewrite the same bytes', async () => {
    // Prepare
    const run = runs.get('3') as DrivenRun;
    const before = await runLists(run);
    const prefix = keys.runPrefix(run.runId);
    const objects = async () => {
      const listed = (await run.store.list(prefix))
        .map((info) => info.key)
        .filter((key) => /\/(queries|partial|neighbors)\.bin$/.test(key));
      return new Map(await Promise.all(listed.map(async (key) => [key, await run.store.get(key)] as const)));
    };
    const written = await objects();
    const stages = { probes: probesStage, neighbors: neighborsStage, gather: gatherStage } as const;

    // Act: each stage's tasks delivered again, in reverse order.
    for (const stage of ['probes', 'neighbors', 'gather'] as const) {
      const tasks = run.sent.filter((delivery) => delivery.body.stage === stage).map((delivery) => delivery.body);
      for (const task of tasks.reverse()) await stages[stage](contextOf(run), task);
    }

    // Assess
    expect(written.size).toBeGreaterThan(0);
    expect(await objects()).toEqual(written);
    expect(await runLists(run)).toEqual(before);
  });
});
