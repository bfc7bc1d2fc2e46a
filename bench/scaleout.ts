import { access, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { STAGES } from '../lib/pipeline/taskMessage.ts';
import type { StageMetrics } from '../lib/pipeline/taskMetrics.ts';
import { blobsOptions, DATA_OPTIONS, type DataSettings, dataSettings, positive } from './benchArgs.ts';
import { gitDescription, machineDescription, printTable, readTruth, round, writeMeasured } from './benchResults.ts';
import { writeBlobs } from './gaussianBlobs.ts';
import { spawnMeasured } from './measuredSpawn.ts';
import { scoreLabels } from './scoreLabels.ts';

/**
 * `npm run bench -- --suite scaleout [--sizes 250000,500000,1000000,2000000] [--rows-per-shard 62500]
 * [--task-memory 3008] [--workers W] [--d 64] [--classes 10] [--labels 0.001] [--shape mixture] [--seed 0]`
 *
 * Issue 16's scale-out measurement: embedding-like data (the mixture shape of gaussianBlobs.ts: each class in an
 * 8-dimensional subspace) at a fixed number of rows per shard, so that what a task holds should not grow with n.
 * Each size runs the embedded CLI with --task-memory, so every task runs in a process of its own and its peak
 * RSS is the task's (report.json stageMetrics). Records per n: wall time, CPU seconds (user + sys of the CLI and
 * its task processes, GNU time), per stage the largest task's peak RSS and the bytes read from the store (total
 * and per row), and accuracy against the truth. Writes bench/measured/scaleout-<shape>-<sizes>.json and prints
 * the tables. A measurement, not a test.
 */

const ROOT = resolve(import.meta.dirname, '..');
const MB = 1024 * 1024;
/** Stages in pipeline order (the task message's list), so the tables read as the run went. */
const STAGE_ORDER: readonly string[] = STAGES;

interface ScaleoutConfig extends DataSettings {
  readonly sizes: number[];
  readonly rowsPerShard: number;
  readonly taskMemory: number;
  /** Where the data sets are kept and reused across invocations (generated there when missing). */
  readonly dataDir: string | null;
}

function parseScaleoutConfig(argv: string[]): ScaleoutConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...DATA_OPTIONS,
      suite: { type: 'string' },
      sizes: { type: 'string', default: '250000,500000,1000000,2000000' },
      'rows-per-shard': { type: 'string' },
      'task-memory': { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  const sizes = (values.sizes ?? '').split(',').map((size) => positive('sizes', size.trim(), 0));
  return {
    ...dataSettings(values, 'mixture'),
    sizes,
    rowsPerShard: positive('rows-per-shard', values['rows-per-shard'], 62_500),
    // The default reducer memory of the Lambda stack: what a task may hold on AWS by default.
    taskMemory: positive('task-memory', values['task-memory'], 3008),
    dataDir: values['data-dir'] === undefined ? null : resolve(values['data-dir']),
  };
}

function log(message: string): void {
  process.stderr.write(`bench scaleout: ${message}\n`);
}

/** One size: generate, run the CLI with --task-memory, read report.json's stage metrics and score the labels. */
async function measureSize(config: ScaleoutConfig, n: number, dir: string) {
  const dataDir = config.dataDir ?? dir;
  const data = join(dataDir, `data-${n}.csv`);
  const truthPath = join(dataDir, `truth-${n}.csv`);
  const truth = await dataSet(config, n, data, truthPath);
  const shards = Math.max(1, Math.ceil(n / config.rowsPerShard));
  const out = join(dir, `out-${n}`);
  const args = ['run', '--input', data, '--out', out, '--neighbors', String(config.neighbors)];
  args.push(
    '--shards',
    String(shards),
    '--workers',
    String(config.workers),
    '--task-memory',
    String(config.taskMemory),
  );
  log(`n=${n}: pseudolabel ${args.join(' ')}`);
  const loadBefore = loadavg();
  const run = await spawnMeasured(process.execPath, [join(ROOT, 'bin/pseudolabel.mjs'), ...args], {
    cwd: dir,
    echoStderr: true,
  });
  const common = {
    n,
    shards,
    command: `pseudolabel ${args.join(' ')}`,
    exitCode: run.code,
    wallSeconds: round(run.wallSeconds, 2),
    cpuSeconds: run.cpuSeconds === null ? null : round(run.cpuSeconds, 2),
    // GNU time: the largest peak of the CLI process and of the task processes it waited for
    peakRssMbOfAnyProcess: run.peakRssMb === null ? null : round(run.peakRssMb, 1),
    // the machine is shared: wall times depend on its load (1, 5 and 15 minute averages), RSS and bytes do not
    loadAverageBefore: loadBefore.map((x) => round(x, 2)),
    loadAverageAfter: loadavg().map((x) => round(x, 2)),
  };
  if (config.dataDir === null) await rm(data, { force: true });
  if (run.code !== 0) return { ...common, error: run.stderr.trim().split('\n').at(-1) ?? '' };
  const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as {
    stageMetrics: Record<string, StageMetrics>;
    timings: Record<string, number>;
    neighbors?: unknown;
  };
  const score = scoreLabels(await readFile(join(out, 'labels.csv'), 'utf8'), truth);
  const stages = Object.entries(report.stageMetrics)
    .sort(([a], [b]) => order(a) - order(b))
    .map(([stage, m]) => ({
      stage,
      tasks: m.tasks,
      largestTaskPeakRssMb: round(m.peakRssBytes / MB, 1),
      peakRssScope: m.peakRssScope,
      bytesRead: m.bytesRead,
      bytesReadPerRow: round(m.bytesRead / n, 1),
      largestTaskBytesRead: m.largestTaskBytesRead,
      bytesWritten: m.bytesWritten,
      longestTaskSeconds: round(m.longestTaskMs / 1000, 2),
      stageSeconds: round((report.timings[stage] ?? 0) / 1000, 2),
    }));
  const totalRead = stages.reduce((sum, stage) => sum + stage.bytesRead, 0);
  return {
    ...common,
    accuracy: round(score.accuracy, 4),
    unreached: score.unreached,
    largestTaskPeakRssMb: Math.max(...stages.map((stage) => stage.largestTaskPeakRssMb)),
    bytesRead: totalRead,
    bytesReadPerRow: round(totalRead / n, 1),
    neighbors: report.neighbors ?? null,
    stages,
  };
}

/** The data set of size n: generated (written under a temporary name, then renamed) unless already there. */
async function dataSet(config: ScaleoutConfig, n: number, data: string, truthPath: string): Promise<Int32Array> {
  const present = await Promise.all([access(data), access(truthPath)]).then(
    () => true,
    () => false,
  );
  if (present) {
    log(`n=${n}: reusing ${data}`);
    return readTruth(truthPath, n);
  }
  log(`n=${n}: generating ${n} x ${config.d} ${config.shape}`);
  const { truth } = await writeBlobs(`${data}.partial`, `${truthPath}.partial`, blobsOptions(config, n));
  await rename(`${truthPath}.partial`, truthPath);
  await rename(`${data}.partial`, data);
  return truth;
}

function order(stage: string): number {
  const at = STAGE_ORDER.indexOf(stage);
  return at < 0 ? (stage === 'finalize' ? 100 : 50) : at;
}

const short = (n: number) => (n >= 1e6 ? `${n / 1e6}m` : `${n / 1e3}k`);

export async function scaleoutBench(argv: string[]): Promise<void> {
  const config = parseScaleoutConfig(argv);
  const dir = await mkdtemp(join(tmpdir(), 'pseudolabel-scaleout-'));
  log(`working in ${dir}`);
  const sizes = [];
  try {
    for (const n of config.sizes) sizes.push(await measureSize(config, n, dir));
  } finally {
    if (config.keepData) log(`data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
  const results = {
    date: new Date().toISOString(),
    commit: gitDescription(),
    machine: machineDescription(),
    config,
    sizes,
  };
  const name = `scaleout-${config.shape}-${config.sizes.map(short).join('-')}.json`;
  const path = join(ROOT, 'bench/measured', name);
  await writeMeasured(path, results);

  process.stdout.write(
    `\npseudolabel bench, suite scaleout: d=${config.d} classes=${config.classes} labels=${config.labels} ` +
      `shape=${config.shape} k=${config.neighbors} rows/shard=${config.rowsPerShard} ` +
      `--task-memory ${config.taskMemory} --workers ${config.workers}\n\n`,
  );
  printTable([
    ['n', 'shards', 'wall', 'CPU (user+sys)', 'largest task RSS', 'store read/row', 'accuracy'],
    ...sizes.map((size) => [
      size.n.toLocaleString('en-US'),
      size.shards,
      `${size.wallSeconds} s`,
      size.cpuSeconds === null ? null : `${size.cpuSeconds} s`,
      'largestTaskPeakRssMb' in size ? `${size.largestTaskPeakRssMb} MB` : 'error' in size ? size.error : null,
      'bytesReadPerRow' in size ? `${size.bytesReadPerRow} B` : null,
      'accuracy' in size ? size.accuracy : null,
    ]),
  ]);
  for (const size of sizes) {
    if (!('stages' in size)) continue;
    process.stdout.write(`\nn=${size.n.toLocaleString('en-US')}, per stage:\n`);
    printTable([
      ['stage', 'tasks', 'largest task RSS', 'read', 'read/row', 'largest task read', 'written', 'longest task'],
      ...size.stages.map((stage) => [
        stage.stage,
        stage.tasks,
        `${stage.largestTaskPeakRssMb} MB`,
        `${round(stage.bytesRead / MB, 1)} MB`,
        `${stage.bytesReadPerRow} B`,
        `${round(stage.largestTaskBytesRead / MB, 1)} MB`,
        `${round(stage.bytesWritten / MB, 1)} MB`,
        `${stage.longestTaskSeconds} s`,
      ]),
    ]);
  }
  process.stdout.write(`\nresults: ${path}\n`);
  if (sizes.some((size) => 'error' in size)) process.exitCode = 1;
}
