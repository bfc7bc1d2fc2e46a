import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { access, link, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { IncrementalReport } from '../lib/pipeline/incremental/incrementalReport.ts';
import { blobsOptions, DATA_OPTIONS, type DataSettings, dataSettings, positive } from './benchArgs.ts';
import { gitDescription, machineDescription, readTruth, round, writeMeasured } from './benchResults.ts';
import { writeBlobs } from './gaussianBlobs.ts';
import { spawnMeasured } from './measuredSpawn.ts';
import { scoreLabels } from './scoreLabels.ts';

/**
 * `npm run bench -- --suite incremental [--n 1000000] [--growth 0.1] [--files 4] [--repeat 3] [--workers W]
 * [--d 64] [--classes 10] [--labels 0.001] [--shape mixture] [--seed 0] [--data-dir /work/scaledata] [--keep-data]`
 *
 * Issue 19's incremental-run measurement: a dataset of n rows (embedding-like: the mixture shape of
 * gaussianBlobs.ts) in `files` files is published as version 1 (`pseudolabel run --dataset`), then one file of
 * growth x n more rows is added and the grown dataset is run again, alternately:
 * - incremental: `pseudolabel run --dataset` over the same state, so the run builds on version 1 (its shards,
 *   IVF index and lists); afterwards version 2 is removed and latest.json put back, so every repeat starts from
 *   the same version 1;
 * - full: the same command over the same state with version 1's index hidden: the run reuses nothing, but like
 *   the incremental run it compares with version 1 (the change report) and publishes version 2.
 * Records per run: wall time, CPU seconds (user + sys, GNU time), peak RSS, stage times, report.json's
 * `incremental`, and accuracy against the truth; the medians of each side and their ratio. Writes
 * bench/measured/incremental-<shape>-<n>.json. A measurement, not a test.
 */

const ROOT = resolve(import.meta.dirname, '..');
const DATASET = 'grown';

interface IncrementalConfig extends DataSettings {
  readonly n: number;
  readonly growth: number;
  readonly files: number;
  readonly repeat: number;
  readonly dataDir: string | null;
}

function parseConfig(argv: string[]): IncrementalConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...DATA_OPTIONS,
      suite: { type: 'string' },
      n: { type: 'string' },
      growth: { type: 'string' },
      files: { type: 'string' },
      repeat: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  return {
    ...dataSettings(values, 'mixture'),
    n: positive('n', values.n, 1_000_000),
    growth: positive('growth', values.growth, 0.1, false),
    files: positive('files', values.files, 4),
    repeat: positive('repeat', values.repeat, 3),
    dataDir: values['data-dir'] === undefined ? null : resolve(values['data-dir']),
  };
}

function log(message: string): void {
  process.stderr.write(`bench incremental: ${message}\n`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * The grown data set (n + growth x n rows) split into `files` files of the first n rows (`part-1.csv` ...) and
 * one file of the rest (`part-<files + 1>.csv`, sorting after them), with the truth; generated once per data dir.
 */
async function dataSet(config: IncrementalConfig, dir: string) {
  const total = config.n + Math.round(config.n * config.growth);
  const folder = join(config.dataDir ?? dir, `incremental-${config.shape}-${config.n}-${total}`);
  const truthPath = join(folder, 'truth.csv');
  const names = Array.from({ length: config.files + 1 }, (_, f) => `part-${f + 1}.csv`);
  if (!(await exists(truthPath))) {
    await mkdir(folder, { recursive: true });
    log(`generating ${total} x ${config.d} ${config.shape} in ${folder}`);
    const whole = join(folder, 'all.csv.partial');
    await writeBlobs(whole, `${truthPath}.partial`, blobsOptions(config, total));
    await splitLines(whole, folder, names, config.n, config.files);
    await rm(whole);
    await rename(`${truthPath}.partial`, truthPath);
  } else log(`reusing ${folder}`);
  const truth = await readTruth(truthPath, total);
  return { folder, names, truth, total };
}

/** Splits a CSV into files of equal shares of its first n rows and one file of the rest, each with the header. */
async function splitLines(path: string, folder: string, names: string[], n: number, files: number): Promise<void> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let header: string | undefined;
  let row = 0;
  let out: WriteStream | undefined;
  let current = -1;
  const close = (stream: WriteStream | undefined) =>
    stream ? new Promise<void>((done) => stream.end(() => done())) : Promise.resolve();
  for await (const line of lines) {
    if (header === undefined) {
      header = line;
      continue;
    }
    const file = row < n ? Math.min(files - 1, Math.floor((row * files) / n)) : files;
    if (file !== current) {
      await close(out);
      out = createWriteStream(join(folder, names[file]));
      out.write(`${header}\n`);
      current = file;
    }
    if (!out!.write(`${line}\n`)) await new Promise<void>((done) => out!.once('drain', () => done()));
    row++;
  }
  await close(out);
}

interface Measurement {
  readonly kind: 'base' | 'incremental' | 'full';
  readonly wallSeconds: number;
  readonly cpuSeconds: number | null;
  readonly peakRssMb: number | null;
  readonly loadAverageBefore: number[];
  readonly accuracy: number;
  readonly rows: number;
  readonly stageSeconds: Record<string, number>;
  readonly neighbors: unknown;
  readonly incremental?: IncrementalReport;
}

async function measureRun(
  config: IncrementalConfig,
  kind: Measurement['kind'],
  input: string,
  out: string,
  state: string,
  truth: Int32Array,
): Promise<Measurement> {
  const args = ['run', '--input', input, '--out', out, '--neighbors', String(config.neighbors)];
  // The CLI keeps its state (and the dataset's versions) in .pseudolabel/ of its working directory.
  args.push('--workers', String(config.workers), '--dataset', DATASET);
  log(`${kind}: pseudolabel ${args.join(' ')}`);
  const loadAverageBefore = loadavg().map((x) => round(x, 2));
  const run = await spawnMeasured(process.execPath, [join(ROOT, 'bin/pseudolabel.mjs'), ...args], { cwd: state });
  if (run.code !== 0) throw new Error(`${kind} run failed: ${run.stderr.trim().split('\n').at(-1)}`);
  const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as {
    n: number;
    timings: Record<string, number>;
    neighbors?: unknown;
    incremental?: IncrementalReport;
  };
  const score = scoreLabels(await readFile(join(out, 'labels.csv'), 'utf8'), truth);
  const measured: Measurement = {
    kind,
    wallSeconds: round(run.wallSeconds, 2),
    cpuSeconds: run.cpuSeconds === null ? null : round(run.cpuSeconds, 2),
    peakRssMb: run.peakRssMb === null ? null : round(run.peakRssMb, 1),
    loadAverageBefore,
    accuracy: round(score.accuracy, 4),
    rows: report.n,
    stageSeconds: Object.fromEntries(Object.entries(report.timings).map(([stage, ms]) => [stage, round(ms / 1000, 2)])),
    neighbors: report.neighbors ?? null,
    ...(report.incremental ? { incremental: report.incremental } : {}),
  };
  log(`${kind}: ${measured.wallSeconds} s wall, ${measured.cpuSeconds} s CPU, accuracy ${measured.accuracy}`);
  return measured;
}

function summary(runs: readonly Measurement[]) {
  const of = (pick: (run: Measurement) => number | null) => {
    const values = runs.map(pick).filter((value): value is number => value !== null);
    return values.length > 0 ? round(median(values), 2) : null;
  };
  return {
    runs: runs.length,
    medianWallSeconds: of((run) => run.wallSeconds),
    medianCpuSeconds: of((run) => run.cpuSeconds),
    medianPeakRssMb: of((run) => run.peakRssMb),
    medianAccuracy: of((run) => run.accuracy),
  };
}

export async function incrementalBench(argv: string[]): Promise<void> {
  const config = parseConfig(argv);
  const dir = await mkdtemp(join(tmpdir(), 'pseudolabel-incremental-'));
  log(`working in ${dir}`);
  const runs: Measurement[] = [];
  try {
    const { folder, names, truth, total } = await dataSet(config, dir);
    // The dataset's input directory: the first files, then the growth file (hard links keep size and mtime).
    const input = join(dir, 'input');
    await mkdir(input);
    for (const name of names.slice(0, -1)) await link(join(folder, name), join(input, name));
    const state = join(dir, 'state');
    await mkdir(state);
    runs.push(await measureRun(config, 'base', input, join(dir, 'out-base'), state, truth));
    const latest = join(state, '.pseudolabel', 'datasets', DATASET, 'latest.json');
    const baseLatest = await readFile(latest);
    await link(join(folder, names[names.length - 1]), join(input, names[names.length - 1]));
    const versions = join(state, '.pseudolabel', 'datasets', DATASET, 'versions');
    /** Back to version 1, so that the next run builds on (or compares with) the same version. */
    const backToVersion1 = async () => {
      await rm(join(versions, '2'), { recursive: true, force: true });
      await writeFile(latest, baseLatest);
    };
    for (let i = 0; i < config.repeat; i++) {
      runs.push(await measureRun(config, 'incremental', input, join(dir, `out-inc-${i}`), state, truth));
      await backToVersion1();
      // The full run: version 1 without its index, so the run reuses nothing but still compares with version 1
      // and publishes version 2, as the incremental run does.
      await rename(join(versions, '1', 'index'), join(versions, '1', 'index-hidden'));
      try {
        runs.push(await measureRun(config, 'full', input, join(dir, `out-full-${i}`), state, truth));
      } finally {
        await rename(join(versions, '1', 'index-hidden'), join(versions, '1', 'index'));
      }
      await backToVersion1();
      await rm(join(dir, `out-inc-${i}`), { recursive: true, force: true });
      await rm(join(dir, `out-full-${i}`), { recursive: true, force: true });
    }
    if (runs.some((run) => run.kind === 'full' && run.rows !== total)) throw new Error('a full run lost rows');
  } finally {
    if (config.keepData) log(`data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
  const incremental = summary(runs.filter((run) => run.kind === 'incremental'));
  const full = summary(runs.filter((run) => run.kind === 'full'));
  const ratio =
    incremental.medianWallSeconds !== null && full.medianWallSeconds
      ? round(incremental.medianWallSeconds / full.medianWallSeconds, 3)
      : null;
  const results = {
    date: new Date().toISOString(),
    commit: gitDescription(),
    machine: machineDescription(),
    config,
    incremental,
    full,
    wallRatio: ratio,
    runs,
  };
  const path = join(ROOT, 'bench/measured', `incremental-${config.shape}-${config.n}.json`);
  await writeMeasured(path, results);
  process.stdout.write(
    `\npseudolabel bench, suite incremental: n=${config.n} grown by ${config.growth} (${config.files} + 1 files), ` +
      `d=${config.d} shape=${config.shape} k=${config.neighbors} --workers ${config.workers}\n\n`,
  );
  for (const [name, side] of [
    ['incremental', incremental],
    ['full', full],
  ] as const) {
    process.stdout.write(
      `${name.padEnd(12)} median of ${side.runs}: ${side.medianWallSeconds} s wall, ${side.medianCpuSeconds} s CPU, ` +
        `peak RSS ${side.medianPeakRssMb} MB, accuracy ${side.medianAccuracy}\n`,
    );
  }
  process.stdout.write(`incremental / full wall time: ${ratio}\nresults: ${path}\n`);
}
