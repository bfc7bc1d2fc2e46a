import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { knnSearch } from '../lib/graph/knnSearch.ts';
import { blobsOptions, DATA_OPTIONS, type DataSettings, dataSettings, positive } from './benchArgs.ts';
import { gitDescription, machineDescription, printTable, round } from './benchResults.ts';
import { writeBlobs } from './gaussianBlobs.ts';
import { hasGnuTime, type Measured, spawnMeasured } from './measuredSpawn.ts';
import { scoreLabels } from './scoreLabels.ts';

/**
 * `npm run bench [-- --suite core|pipeline|scale] [--n N] [--d D] [--classes C] [--labels F] [--workers W] ...`
 *
 * Generates Gaussian blobs (bench/gaussianBlobs.ts), then measures, one after the other:
 * 1. our exact kNN (knnSearch with the SIMD kernel, in this process, one thread), on every row or on a sample of query rows
 *    extrapolated to all (--knn-queries);
 * 2. our label spreading end to end through the CLI (`pseudolabel run --neighbors K --workers W`): wall time,
 *    peak RSS, stage times from report.json, accuracy against the truth;
 * 3. scikit-learn's LabelSpreading on the same CSV (bench/sklearn_baseline.py) when a Python with
 *    scikit-learn is found: $PSEUDOLABEL_BENCH_PYTHON, else .venv/bin/python; else a note.
 * Prints a table and writes bench/results/latest.json. See bench/README.md.
 */

const ROOT = resolve(import.meta.dirname, '..');
const RESULTS = join(ROOT, 'bench/results/latest.json');

/** `--suite scaleout` is its own harness (bench/scaleout.ts): several sizes at fixed rows per shard. */
const SUITES = {
  core: { n: 20_000, knnQueries: 0 },
  pipeline: { n: 100_000, knnQueries: 2_000 },
  scale: { n: 1_000_000, knnQueries: 2_000 },
} as const;
type Suite = keyof typeof SUITES;

interface Config extends DataSettings {
  suite: Suite;
  n: number;
  shards: number | undefined;
  neighborsMode: string | undefined;
  /** Query rows for the in-process kNN timing; n = all of them. */
  knnQueries: number;
  skipSklearn: boolean;
  /** Runs of each side, alternating; the table shows the median run of each. */
  repeat: number;
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...DATA_OPTIONS,
      suite: { type: 'string', default: 'core' },
      n: { type: 'string' },
      shards: { type: 'string' },
      'neighbors-mode': { type: 'string' },
      'knn-queries': { type: 'string' },
      'skip-sklearn': { type: 'boolean', default: false },
      repeat: { type: 'string' },
    },
  });
  if (!(values.suite in SUITES))
    throw new RangeError(`--suite must be one of ${[...Object.keys(SUITES), 'scaleout', 'incremental'].join(', ')}`);
  const suite = values.suite as Suite;
  const n = positive('n', values.n, SUITES[suite].n);
  return {
    ...dataSettings(values, 'blobs'),
    suite,
    n,
    shards: values.shards === undefined ? undefined : positive('shards', values.shards, 1),
    neighborsMode: values['neighbors-mode'],
    knnQueries: Math.min(n, positive('knn-queries', values['knn-queries'], SUITES[suite].knnQueries || n)),
    skipSklearn: values['skip-sklearn'] ?? false,
    repeat: positive('repeat', values.repeat, 1),
  };
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** The Python to run scikit-learn with, or why there is none. */
function findPython(): { python: string } | { note: string } {
  const candidates = [process.env.PSEUDOLABEL_BENCH_PYTHON, join(ROOT, '.venv/bin/python')].filter(
    (p): p is string => !!p,
  );
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', 'import sklearn, pandas, threadpoolctl'], { stdio: 'ignore' });
      return { python };
    } catch {}
  }
  return {
    note:
      'scikit-learn baseline skipped: no Python with scikit-learn, pandas and threadpoolctl ' +
      `(tried ${candidates.join(', ') || 'nothing'}; set PSEUDOLABEL_BENCH_PYTHON)`,
  };
}

/**
 * Writes the data and times our exact kNN on it in this process. The features are dropped on return, so that
 * they do not weigh on the machine while the CLI and scikit-learn run.
 */
async function prepareData(config: Config, data: string, truthPath: string) {
  log(`generating ${config.n} x ${config.d} ${config.shape}, ${config.classes} classes, ${config.labels} labelled`);
  let started = performance.now();
  const { X, truth, labelled } = await writeBlobs(data, truthPath, blobsOptions(config, config.n));
  const generateSeconds = round((performance.now() - started) / 1000, 3);
  const q = config.knnQueries;
  log(`exact kNN in process: ${q} query rows against ${config.n}, k=${config.neighbors}`);
  const query = { data: X.data.subarray(0, q * config.d), n: q, d: config.d };
  started = performance.now();
  knnSearch(query, X, config.neighbors, { kernel: 'wasm' });
  const seconds = (performance.now() - started) / 1000;
  const knn = {
    kernel: 'wasm',
    queries: q,
    seconds: round(seconds, 3),
    allRowsSeconds: round((seconds * config.n) / q, 3),
    extrapolated: q < config.n,
  };
  return { truth, labelled, generateSeconds, knn };
}

/**
 * One untimed CLI run on the small example, so the timed run does not pay for reading the bundles of the CLI
 * and its worker threads (dist/, `npm run build`) from a cold disk cache.
 */
function warmBundles(config: Config, dir: string): void {
  const args = ['run', '--input', join(ROOT, 'examples/digits.csv'), '--out', join(dir, 'warm-up')];
  execFileSync(process.execPath, [join(ROOT, 'bin/pseudolabel.mjs'), ...args, '--workers', String(config.workers)], {
    cwd: dir,
    stdio: 'ignore',
  });
}

async function runOurs(config: Config, dir: string, data: string, truth: Int32Array) {
  const out = join(dir, 'ours');
  const cliArgs = ['run', '--input', data, '--out', out, '--neighbors', String(config.neighbors)];
  cliArgs.push('--workers', String(config.workers));
  if (config.shards !== undefined) cliArgs.push('--shards', String(config.shards));
  if (config.neighborsMode !== undefined) cliArgs.push('--neighbors-mode', config.neighborsMode);
  const rusageFile = join(dir, 'rusage.json');
  const entry = hasGnuTime() ? join(ROOT, 'bin/pseudolabel.mjs') : join(ROOT, 'bench/cliWithRusage.mjs');
  // cwd = the temp dir, so the embedded run's .pseudolabel/ state stays out of the repository.
  const run = await spawnMeasured(process.execPath, [entry, ...cliArgs], {
    cwd: dir,
    env: { ...process.env, PSEUDOLABEL_BENCH_RUSAGE: rusageFile },
    rusageFile,
    echoStderr: true,
  });
  if (run.code !== 0)
    return { command: `pseudolabel ${cliArgs.join(' ')}`, ...measuredSummary(run), error: run.stderr };
  const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as {
    timings: Record<string, number>;
    convergence: { nIter: number; converged: boolean };
    neighbors?: Record<string, unknown>;
  };
  const score = scoreLabels(await readFile(join(out, 'labels.csv'), 'utf8'), truth);
  const t = report.timings;
  const graphAndPropagateMs = ['collect', 'cells', 'calibrate', 'probes', 'neighbors', 'propagate'].reduce(
    (sum, stage) => sum + (t[stage] ?? 0),
    0,
  );
  // Wall clock from the end of ingest to the summary line, less finalize (one step, so its time is wall time).
  const ingested = run.stderrTimeline.find((entry) => /^pseudolabel: ingest .*done$/.test(entry.line));
  const summary = run.stderrTimeline.find((entry) => /^pseudolabel: \d+ rows, /.test(entry.line));
  const fitWallSeconds = ingested && summary ? round(summary.at - ingested.at - (t.finalize ?? 0) / 1000, 3) : null;
  return {
    command: `pseudolabel ${cliArgs.join(' ')}`,
    ...measuredSummary(run),
    ...score,
    nIter: report.convergence.nIter,
    converged: report.convergence.converged,
    stageMs: t,
    neighbors: report.neighbors ?? null,
    /** When each stderr line arrived (seconds since spawn): where the wall time goes. */
    timeline: run.stderrTimeline.map((entry) => ({ at: round(entry.at, 3), line: entry.line })),
    graphAndPropagateSeconds: graphAndPropagateMs / 1000,
    fitWallSeconds,
  };
}

function measuredSummary(run: Measured) {
  return {
    exitCode: run.code,
    wallSeconds: round(run.wallSeconds, 3),
    peakRssMb: run.peakRssMb === null ? null : round(run.peakRssMb, 1),
    rssSource: run.rssSource,
  };
}

async function runSklearn(config: Config, data: string, truthPath: string) {
  if (config.skipSklearn) return { skipped: 'scikit-learn baseline skipped (--skip-sklearn)' };
  const found = findPython();
  if ('note' in found) return { skipped: found.note };
  const args = [join(ROOT, 'bench/sklearn_baseline.py'), '--input', data, '--truth', truthPath];
  args.push('--model', 'label-spreading', '--neighbors', String(config.neighbors));
  const run = await spawnMeasured(found.python, args, { cwd: ROOT });
  const last = run.stdout.trim().split('\n').at(-1) ?? '';
  if (run.code !== 0 || !last.startsWith('{')) {
    return { python: found.python, ...measuredSummary(run), error: run.stderr.trim() };
  }
  const result = JSON.parse(last) as Record<string, unknown>;
  const warnings = run.stderr
    .split('\n')
    .filter((line) => line.startsWith('warning:'))
    .map((line) => line.slice('warning: '.length));
  return { python: found.python, ...measuredSummary(run), warnings, result };
}

/** The run of median `key` (the lower middle one for an even count); a run without a key sorts last. */
function medianRun<T>(runs: T[], key: (run: T) => number | null | undefined): T {
  const sorted = [...runs].sort((a, b) => (key(a) ?? Number.POSITIVE_INFINITY) - (key(b) ?? Number.POSITIVE_INFINITY));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function ratio(ours: number | null | undefined, theirs: number | null | undefined): number | null {
  return typeof ours === 'number' && typeof theirs === 'number' && theirs > 0 ? round(ours / theirs, 2) : null;
}

const seconds = (x: number | null | undefined) => (typeof x === 'number' ? `${x.toFixed(2)} s` : undefined);
const mb = (x: number | null | undefined) => (typeof x === 'number' ? `${x.toFixed(0)} MB` : undefined);
const times = (x: number | null) => (x === null ? undefined : `${x.toFixed(2)}x`);
const acc = (x: unknown) => (typeof x === 'number' ? x.toFixed(4) : undefined);

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('quality') || argv.includes('--suite=quality') || argv.join(' ').includes('--suite quality')) {
    const { qualityBench } = await import('./quality.ts');
    await qualityBench(argv);
    return;
  }
  if (argv.includes('--suite=incremental') || argv.join(' ').includes('--suite incremental')) {
    const { incrementalBench } = await import('./incremental.ts');
    await incrementalBench(argv);
    return;
  }
  if (argv.includes('--suite=scaleout') || argv.join(' ').includes('--suite scaleout')) {
    const { scaleoutBench } = await import('./scaleout.ts');
    await scaleoutBench(argv);
    return;
  }
  const config = parseConfig(argv);
  const dir = await mkdtemp(join(tmpdir(), 'pseudolabel-bench-'));
  log(`working in ${dir}`);
  try {
    const data = join(dir, 'data.csv');
    const truthPath = join(dir, 'truth.csv');
    const { truth, labelled, generateSeconds, knn } = await prepareData(config, data, truthPath);

    log('label spreading through the CLI (after one untimed run on the small example)');
    warmBundles(config, dir);
    // With --repeat, the two sides alternate, so a slow spell of the machine falls on both.
    const oursRuns: Awaited<ReturnType<typeof runOurs>>[] = [];
    const sklearnRuns: Awaited<ReturnType<typeof runSklearn>>[] = [];
    for (let r = 0; r < config.repeat; r++) {
      if (config.repeat > 1) log(`run ${r + 1} of ${config.repeat}`);
      oursRuns.push(await runOurs(config, dir, data, truth));
      log('scikit-learn LabelSpreading');
      sklearnRuns.push(await runSklearn(config, data, truthPath));
    }
    const ours = medianRun(oursRuns, (run) => run.wallSeconds);
    const sklearn = medianRun(sklearnRuns, (run) =>
      'result' in run ? (run.result as { fit_seconds?: number }).fit_seconds : undefined,
    );
    const theirs = 'result' in sklearn ? (sklearn.result as Record<string, number | null>) : undefined;

    const ratios = {
      wall: 'wallSeconds' in sklearn ? ratio(ours.wallSeconds, sklearn.wallSeconds) : null,
      fit: ratio('fitWallSeconds' in ours ? ours.fitWallSeconds : null, theirs?.fit_seconds),
      fitSummedOverShards: ratio(
        'graphAndPropagateSeconds' in ours ? ours.graphAndPropagateSeconds : null,
        theirs?.fit_seconds,
      ),
      knnVsFit: ratio(knn.allRowsSeconds, theirs?.fit_seconds),
      peakRss: 'peakRssMb' in sklearn ? ratio(ours.peakRssMb, sklearn.peakRssMb) : null,
    };
    const results = {
      date: new Date().toISOString(),
      commit: gitDescription(),
      machine: {
        ...machineDescription(),
        platform: `${process.platform}-${process.arch}`,
        env: {
          OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? null,
          OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? null,
          MKL_NUM_THREADS: process.env.MKL_NUM_THREADS ?? null,
        },
      },
      config: { ...config, labelled },
      data: { generateSeconds, shape: config.shape, spread: config.spread },
      knn,
      ours,
      sklearn,
      ratios,
      repeats: {
        oursWallSeconds: oursRuns.map((run) => run.wallSeconds),
        sklearnFitSeconds: sklearnRuns.map((run) =>
          'result' in run ? ((run.result as { fit_seconds?: number }).fit_seconds ?? null) : null,
        ),
      },
    };
    await mkdir(dirname(RESULTS), { recursive: true });
    await writeFile(RESULTS, `${JSON.stringify(results, null, 2)}\n`);

    const n = config.n.toLocaleString('en-US');
    process.stdout.write(
      `\npseudolabel bench, suite ${config.suite}: n=${n} d=${config.d} classes=${config.classes} ` +
        `labelled=${labelled} k=${config.neighbors} workers=${config.workers}` +
        `${config.shards ? ` shards=${config.shards}` : ''}, OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS ?? 'unset'}\n\n`,
    );
    const oursOk = 'accuracy' in ours;
    printTable([
      ['', 'ours', 'scikit-learn', 'ours/sklearn'],
      [
        'wall time, whole process',
        seconds(ours.wallSeconds),
        seconds((sklearn as { wallSeconds?: number }).wallSeconds),
        times(ratios.wall),
      ],
      [
        'graph + propagation (fit), wall',
        seconds(oursOk ? ours.fitWallSeconds : undefined),
        seconds(theirs?.fit_seconds),
        times(ratios.fit),
      ],
      [
        '  same, stage times summed over shards',
        seconds(oursOk ? ours.graphAndPropagateSeconds : undefined),
        undefined,
        times(ratios.fitSummedOverShards),
      ],
      [
        `exact kNN in process, 1 thread${knn.extrapolated ? ` (${knn.queries} queries, extrapolated)` : ''}`,
        seconds(knn.allRowsSeconds),
        undefined,
        times(ratios.knnVsFit),
      ],
      ['accuracy (unlabelled rows)', acc(oursOk ? ours.accuracy : undefined), acc(theirs?.accuracy), undefined],
      ['iterations', oursOk ? ours.nIter : undefined, theirs?.n_iter, undefined],
      ['unreached rows (counted wrong)', oursOk ? ours.unreached : undefined, undefined, undefined],
      ['peak RSS', mb(ours.peakRssMb), mb((sklearn as { peakRssMb?: number | null }).peakRssMb), times(ratios.peakRss)],
    ]);
    process.stdout.write(
      '\nfit, wall: ours = from the end of ingest to the end of propagation (stderr timestamps, less finalize); ' +
        'scikit-learn = LabelSpreading.fit (graph + propagation on data in memory).\n' +
        `summed over shards: report.json neighbors + collect + propagate, sum of the task durations over ${config.workers} worker(s).\n`,
    );
    if (config.repeat > 1) {
      const list = (xs: (number | null | undefined)[]) => xs.map((x) => seconds(x) ?? '-').join(', ');
      process.stdout.write(
        `median of ${config.repeat} alternating runs: ours ${list(results.repeats.oursWallSeconds)}; ` +
          `scikit-learn fit ${list(results.repeats.sklearnFitSeconds)}\n`,
      );
    }
    if ('skipped' in sklearn) process.stdout.write(`note: ${sklearn.skipped}\n`);
    if ('error' in sklearn) process.stdout.write(`scikit-learn failed:\n${sklearn.error}\n`);
    if ('error' in ours) process.stdout.write(`pseudolabel failed:\n${ours.error}\n`);
    process.stdout.write(`results: ${RESULTS}\n`);
    if ('error' in ours) process.exitCode = 1;
  } finally {
    if (config.keepData) log(`data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

/** Bad benchmark arguments end with one line and exit code 2; anything else is a bug and keeps its stack. */
try {
  await main();
} catch (error) {
  const usage = error instanceof RangeError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
  if (!usage || !(error instanceof Error)) throw error;
  process.stderr.write(`bench: ${error.message}\n`);
  process.exitCode = 2;
}
