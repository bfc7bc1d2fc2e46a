import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runEmbedded } from '../../lib/hosts/embedded/embeddedRunner.ts';
import { keys } from '../../lib/pipeline/keys.ts';
import { readRangeCells } from '../../lib/pipeline/neighbors/ivfObjects.ts';
import { readRowPartitions } from '../../lib/pipeline/propagation/partitionGraph.ts';
import { FAN_OUT_FROM_ROWS_ENV } from '../../lib/pipeline/propagation/propagationFanOut.ts';
import { readRun } from '../../lib/pipeline/run/runRecord.ts';
import { parseRunOptions, type RunOptionsInput } from '../../lib/pipeline/runOptions.ts';
import { readCollected } from '../../lib/pipeline/shards/collected.ts';
import type { StageContext } from '../../lib/pipeline/stageContext.ts';
import { filesystemStageContext } from '../support/stageContexts.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import {
  advancedMarkers,
  type DeliveryPlan,
  type DrivenRun,
  driveRun,
  outputText,
  reduceStepRuns,
} from './support/manualDriver.ts';
import {
  comparableReport,
  ROOT,
  type RunOutput,
  recordingLog,
  removeTempDirs,
  runPipeline,
  tempDir,
} from './support/pipelineHarness.ts';

/**
 * DESIGN.md section 5, "propagation iterates as fanned-out partition tasks (synchronous Jacobi, the same doubles
 * as one process)": with the fan-out forced, labels.csv is byte-identical to the single-process propagate step
 * for label spreading and label propagation, knn and knn-rbf, exact and approximate neighbours, 1, 3 and 8
 * shards, and the run converges after as many iterations; the result parts are the same bytes; duplicated and
 * reordered deliveries (manual driver) and tasks failing before or after they ran (embedded faults) change
 * nothing. Approximate runs partition the rows by cell range, exact runs by shard.
 */

/**
 * examples/digits.csv (1,797 rows, 64 features, 50 labels over 10 classes) plus an unlabelled far cluster that
 * no label reaches (source none) and three rows repeating earlier ids (dropped, so shard offsets move).
 */
async function inputFile(): Promise<string> {
  const lines = (await readFile(join(ROOT, 'examples/digits.csv'), 'utf8')).trimEnd().split('\n');
  const d = lines[0].split(',').length - 2;
  for (let i = 0; i < 24; i++) {
    const features = Array.from({ length: d }, (_, j) => 200 + ((i * 7 + j * 3) % 11));
    lines.push(`far${i},,${features.join(',')}`);
  }
  for (const row of [5, 700, 1500]) lines.push(`d${String(row).padStart(4, '0')},,${'1,'.repeat(d - 1)}1`);
  return writeInput(await tempDir(), 'digits-far.csv', `${lines.join('\n')}\n`);
}

/** Runs with the fan-out forced (threshold 0 rows) or with the single-process propagate step. */
async function run(input: string, options: RunOptionsInput, fanOut: boolean): Promise<RunOutput> {
  if (fanOut) process.env[FAN_OUT_FROM_ROWS_ENV] = '0';
  else delete process.env[FAN_OUT_FROM_ROWS_ENV];
  try {
    return await runPipeline(input, { workers: 1, ...options });
  } finally {
    delete process.env[FAN_OUT_FROM_ROWS_ENV];
  }
}

const CASES = [
  { method: 'label-spreading', kernel: 'knn' },
  { method: 'label-spreading', kernel: 'knn-rbf' },
  { method: 'label-propagation', kernel: 'knn' },
  { method: 'label-propagation', kernel: 'knn-rbf' },
] as const;
const MODES = ['exact', 'approx'] as const;
const SHARDS = [1, 3, 8] as const;

let input = '';

beforeAll(async () => {
  input = await inputFile();
});

afterEach(() => {
  delete process.env[FAN_OUT_FROM_ROWS_ENV];
});

afterAll(removeTempDirs);

describe.each(CASES)('$method, kernel $kernel', ({ method, kernel }) => {
  // gamma scaled to digits' squared distances (hundreds), so knn-rbf weights differ in every bit
  const base: RunOptionsInput = { method, kernel, gamma: 0.002, neighbors: 7, maxIter: 8 };

  describe.each(MODES)('neighbors mode %s', (neighborsMode) => {
    let single: RunOutput;

    beforeAll(async () => {
      single = await run(input, { ...base, neighborsMode, shards: 3 }, false);
    });

    it.each(SHARDS)('%i shards: labels.csv byte-identical, same iterations', async (shards) => {
      // Prepare
      const options = { ...base, neighborsMode, shards };
      // Act
      const fanned = await run(input, options, true);
      // Assess
      expect(fanned.record.timings).toHaveProperty('converge');
      expect(single.record.timings).not.toHaveProperty('converge');
      expect((fanned.report.neighbors as { mode: string }).mode).toBe(neighborsMode);
      expect(fanned.record.partitions?.by).toBe(neighborsMode === 'approx' ? 'cell ranges' : 'shards');
      expect(fanned.labels === single.labels, 'labels.csv differs byte for byte').toBe(true);
      const { convergence } = fanned.report as { convergence: { nIter: number; deltas: number[] } };
      const reference = (single.report as { convergence: { nIter: number; deltas: number[] } }).convergence;
      expect(convergence.nIter).toBe(reference.nIter);
      expect(convergence.deltas.length).toBe(reference.deltas.length);
      // the residuals add the partitions' sums: equal but for the last bits
      const furthest = Math.max(
        ...convergence.deltas.map((delta, i) => Math.abs(delta - reference.deltas[i]) / reference.deltas[i]),
      );
      expect(furthest).toBeLessThan(1e-12);
      const withoutConvergence = (report: Record<string, unknown>) => {
        const { convergence: _convergence, ...rest } = comparableReport(report);
        return rest;
      };
      expect(withoutConvergence(fanned.report)).toEqual(withoutConvergence(single.report));
    });
  });
});

describe('knn-rbf with --gamma auto (the median heuristic found by the graph step)', () => {
  const options: RunOptionsInput = { kernel: 'knn-rbf', gamma: 'auto', neighbors: 7, maxIter: 8 };
  let single: RunOutput;

  beforeAll(async () => {
    single = await run(input, { ...options, shards: 3 }, false);
  });

  it.each([1, 3, 8])('%i shards: report.json and labels.csv equal to the single-process run', async (shards) => {
    // Prepare
    const sharded = { ...options, shards };
    // Act
    const fanned = await run(input, sharded, true);
    // Assess
    expect(fanned.record.timings).toHaveProperty('converge');
    expect((fanned.report.gamma as { auto: boolean }).auto).toBe(true);
    expect(fanned.report.gamma).toEqual(single.report.gamma);
    expect(fanned.labels === single.labels, 'labels.csv differs byte for byte').toBe(true);
  });
});

describe('a partition with no rows (a file whose every id repeats an earlier one)', () => {
  it('gives the single-process labels', async () => {
    // Prepare: three files, one shard each (shardPlan: at least one per file); b.csv only repeats ids of a.csv,
    // so its shard keeps no row
    const digits = (await readFile(join(ROOT, 'examples/digits.csv'), 'utf8')).trimEnd().split('\n');
    const dir = await tempDir();
    const unlabelled = (line: string) => line.replace(/^([^,]*),[^,]*,/, '$1,,');
    await writeInput(dir, 'a.csv', `${[digits[0], ...digits.slice(1, 901)].join('\n')}\n`);
    await writeInput(dir, 'b.csv', `${[digits[0], ...digits.slice(1, 41).map(unlabelled)].join('\n')}\n`);
    await writeInput(dir, 'c.csv', `${[digits[0], ...digits.slice(901)].join('\n')}\n`);
    const options: RunOptionsInput = { neighbors: 7, shards: 3, maxIter: 8 };
    // Act
    const single = await run(dir, options, false);
    const fanned = await run(dir, options, true);
    // Assess
    expect(fanned.record.shards).toBe(3);
    expect(fanned.report.rejected).toBe(40);
    expect(fanned.record.timings).toHaveProperty('converge');
    expect(fanned.labels === single.labels, 'labels.csv differs byte for byte').toBe(true);
  });
});

describe('what the data exercises', () => {
  it('some rows are propagated, the far cluster is unreached (source none)', async () => {
    // Prepare
    const options: RunOptionsInput = { neighbors: 7, shards: 3, neighborsMode: 'exact' };
    // Act
    const fanned = await run(input, options, true);
    // Assess
    const rows = fanned.labels.trimEnd().split('\n').slice(1);
    const far = rows.filter((line) => line.startsWith('far'));
    expect(far).toHaveLength(24);
    expect(far.every((line) => line.split(',')[3] === 'none')).toBe(true);
    expect(rows.filter((line) => line.split(',')[3] === 'propagated').length).toBeGreaterThan(1500);
    expect(fanned.report.rejected).toBe(3);
    const none = rows.filter((line) => line.split(',')[3] === 'none').length;
    expect(fanned.report.unreached).toEqual({ rows: none, hint: 'try --neighbors 14' });
  });
});

/** The four outcome arrays of every shard, as stored (result parts), for a bitwise comparison. */
async function resultParts(run: DrivenRun): Promise<Uint8Array[]> {
  const record = await readRun(run.store, run.runId);
  const parts: Uint8Array[] = [];
  for (let s = 0; s < record.shards; s++) parts.push(await run.store.get(keys.shardResult(run.runId, s)));
  return parts;
}

/** A context to read a driven run's objects with. */
function contextOf(run: DrivenRun): StageContext {
  return filesystemStageContext(run.store, { log: run.log });
}

/** Whether an iterate task of some round was delivered after one of a later round (a stale delivery). */
function hasStaleIteration(run: DrivenRun): boolean {
  let latest = 0;
  for (const { body } of run.delivered) {
    if (body.stage !== 'iterate') continue;
    if (body.round < latest) return true;
    latest = Math.max(latest, body.round);
  }
  return false;
}

/**
 * Exact neighbours partition by shard (blobs, 240 rows); approximate ones by cell range (digits, where the
 * partitions' rows come from every shard), so redelivered route tasks and the row -> partition map are exercised.
 */
const DELIVERY_CASES = [
  { neighborsMode: 'exact', data: 'blobs', partitionsBy: 'shards', gamma: 0.5 },
  { neighborsMode: 'approx', data: 'digits', partitionsBy: 'cell ranges', gamma: 0.002 },
] as const;

describe.each(DELIVERY_CASES)(
  'fanned-out tasks delivered twice or more, in any order ($neighborsMode neighbours)',
  ({ neighborsMode, data, partitionsBy, gamma }) => {
    const options = parseRunOptions({
      method: 'label-spreading',
      kernel: 'knn-rbf',
      gamma,
      neighbors: 5,
      shards: 3,
      workers: 1,
      maxIter: 8,
      neighborsMode,
    });
    /** Every message twice, iterate tasks four times (copies left over when the next round starts), up to three at once. */
    const duplicating = (seed: number): DeliveryPlan => ({
      seed,
      copies: (message) => (message.stage === 'iterate' ? 4 : 2),
      concurrency: 3,
    });
    let dataset = '';
    let single: DrivenRun;
    let clean: DrivenRun;
    let runs = 0;

    async function drive(fanOut: boolean, plan: DeliveryPlan = {}): Promise<DrivenRun> {
      if (fanOut) process.env[FAN_OUT_FROM_ROWS_ENV] = '0';
      try {
        return await driveRun(dataset, join(await tempDir(), 'state'), options, `fan-${neighborsMode}-${++runs}`, plan);
      } finally {
        delete process.env[FAN_OUT_FROM_ROWS_ENV];
      }
    }

    beforeAll(async () => {
      dataset =
        data === 'blobs'
          ? await writeInput(await tempDir(), 'blobs.csv', csvText(blobRows({ n: 240, d: 4, seed: 5 })))
          : input;
      single = await drive(false);
      clean = await drive(true);
    });

    it('the clean fan-out writes the same result parts, byte for byte, as the single-process step', async () => {
      // Prepare
      const steps = await advancedMarkers(clean);
      // Act
      const [fanned, reference] = [await resultParts(clean), await resultParts(single)];
      // Assess
      expect(steps).toContain('converge-1');
      expect(steps).toContain('routed-0');
      expect(await advancedMarkers(single)).not.toContain('graph-0');
      expect((await readRun(clean.store, clean.runId)).partitions?.by).toBe(partitionsBy);
      expect(fanned).toEqual(reference);
      expect(await outputText(clean, 'labels.csv')).toBe(await outputText(single, 'labels.csv'));
    });

    it("the row -> partition map puts every row in one partition: its shard, or its cell's range", async () => {
      // Prepare
      const record = await readRun(clean.store, clean.runId);
      const collected = await readCollected(contextOf(clean), clean.runId);
      const expected = new Int32Array(collected.n).fill(-1);
      for (const [s, { offset, rows }] of collected.shards.entries()) {
        if (partitionsBy === 'shards') expected.fill(s, offset, offset + rows);
        else {
          for (let r = 0; r < (record.partitions?.count ?? 0); r++) {
            const { members } = await readRangeCells(contextOf(clean), clean.runId, r, s);
            for (const row of members) expected[row] = r;
          }
        }
      }
      // Act
      const mapped: number[] = [];
      for (let s = 0; s < collected.shards.length; s++) {
        const { partitionOf } = await readRowPartitions(contextOf(clean), clean.runId, s);
        mapped.push(...partitionOf);
      }
      // Assess
      expect(mapped).toEqual([...expected]);
      expect(new Set(mapped).size).toBe(record.partitions?.count);
      if (partitionsBy === 'cell ranges') {
        // input order and locality differ: a shard's rows lie in several partitions
        const first = (await readRowPartitions(contextOf(clean), clean.runId, 0)).partitionOf;
        expect(new Set(first).size).toBeGreaterThan(1);
      }
    });

    it.each([7, 8, 9])('seed %i: the same outputs and result parts, each reduce step once', async (seed) => {
      // Prepare
      const plan = duplicating(seed);
      // Act
      const run = await drive(true, plan);
      // Assess
      expect((await readRun(run.store, run.runId)).status).toBe('succeeded');
      expect(hasStaleIteration(run), 'an iterate task was delivered after a later round had started').toBe(true);
      expect(run.delivered.filter(({ body }) => body.stage === 'route').length).toBeGreaterThan(3);
      expect(await resultParts(run)).toEqual(await resultParts(clean));
      expect(await outputText(run, 'labels.csv')).toBe(await outputText(clean, 'labels.csv'));
      const report = JSON.parse((await outputText(run, 'report.json')) ?? '{}') as Record<string, unknown>;
      const cleanReport = JSON.parse((await outputText(clean, 'report.json')) ?? '{}') as Record<string, unknown>;
      expect(comparableReport(report)).toEqual(comparableReport(cleanReport));
      const steps = reduceStepRuns(run);
      expect([...steps.values()].every((count) => count === 1)).toBe(true);
      expect((await advancedMarkers(run)).sort()).toEqual((await advancedMarkers(clean)).sort());
    });
  },
);

describe('fanned-out tasks that fail once, before or after they ran (faults rate 0.4)', () => {
  const options: RunOptionsInput = { method: 'label-propagation', neighbors: 6, shards: 4, maxIter: 6 };
  let reference: RunOutput;

  beforeAll(async () => {
    reference = await run(input, options, false);
  });

  it.each([21, 22])('seed %i: labels.csv identical to the single-process run', async (seed) => {
    // Prepare
    const log = recordingLog();
    process.env[FAN_OUT_FROM_ROWS_ENV] = '0';
    // Act
    const fanned = await runPipeline(input, { ...options, workers: 1 }, { faults: { rate: 0.4, seed }, log });
    // Assess
    const failed = log.lines
      .filter((line) => line.message === 'task failed; it will be delivered again')
      .map((line) => String(line.fields.error));
    const fanOutStage = /"stage":"(edges|graph|degrees|iterate|converge|result)"/;
    expect(failed.filter((error) => fanOutStage.test(error)).length, 'faults hit the fan-out').toBeGreaterThan(0);
    expect(failed.some((error) => error.includes('injected fault after') && error.includes('"iterate"'))).toBe(true);
    expect(fanned.record.timings).toHaveProperty('converge');
    expect(fanned.labels === reference.labels, 'labels.csv differs byte for byte').toBe(true);
  });
});

describe('an incremental run (approximate lists merged into the base version in gather)', () => {
  it('partitions by shard and gives the labels of the same run in one process', async () => {
    // Prepare: digits in two files (version 1), then a third file, each with and without the fan-out
    const [header, ...lines] = (await readFile(join(ROOT, 'examples/digits.csv'), 'utf8')).trimEnd().split('\n');
    const file = (from: number, to: number) => `${[header, ...lines.slice(from, to)].join('\n')}\n`;
    const options = parseRunOptions({ neighborsMode: 'approx', workers: 1, neighbors: 7, shards: 4, maxIter: 8 });
    const versionTwo = async (fanOut: boolean) => {
      const dir = await tempDir();
      const data = join(dir, 'data');
      await mkdir(data);
      await writeInput(data, 'digits-1.csv', file(0, 800));
      await writeInput(data, 'digits-2.csv', file(800, 1500));
      const state = join(dir, 'state');
      if (fanOut) process.env[FAN_OUT_FROM_ROWS_ENV] = '0';
      try {
        await runEmbedded({ input: data, out: join(dir, 'v1'), stateDir: state, options, dataset: 'digits' });
        await writeInput(data, 'digits-3.csv', file(1500, lines.length));
        const record = await runEmbedded({
          input: data,
          out: join(dir, 'v2'),
          stateDir: state,
          options,
          dataset: 'digits',
        });
        return { record, labels: await readFile(join(dir, 'v2', 'labels.csv'), 'utf8') };
      } finally {
        delete process.env[FAN_OUT_FROM_ROWS_ENV];
      }
    };
    // Act
    const single = await versionTwo(false);
    const fanned = await versionTwo(true);
    // Assess
    expect(fanned.record.incremental).toBeDefined();
    expect(fanned.record.timings).toHaveProperty('converge');
    expect(fanned.record.partitions?.by).toBe('shards');
    expect(fanned.labels === single.labels, 'labels.csv differs byte for byte').toBe(true);
  });
});
