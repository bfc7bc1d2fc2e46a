import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runEmbedded } from '../../../lib/hosts/embedded/embeddedRunner.ts';
import type { RunRecord } from '../../../lib/pipeline/run/runRecord.ts';
import { parseRunOptions, type RunOptionsInput } from '../../../lib/pipeline/runOptions.ts';
import type { StageLog } from '../../../lib/pipeline/stageContext.ts';

/**
 * Helpers of the pipeline tests (test/pipeline): temporary directories, an embedded run with its output files
 * read back, the report without the fields that legitimately differ between runs, and one CLI spawn.
 */

export const ROOT = resolve(import.meta.dirname, '../../..');

const created: string[] = [];

/** A fresh temporary directory, removed by `removeTempDirs`. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pseudolabel-pipeline-'));
  created.push(dir);
  return dir;
}

/** Removes every directory made by `tempDir` (call from afterAll). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A log that keeps every line, for counting injected faults, ignored duplicates and the like. */
export interface RecordingLog extends StageLog {
  readonly lines: { level: 'info' | 'warn'; message: string; fields: Record<string, unknown> }[];
}

export function recordingLog(): RecordingLog {
  const lines: RecordingLog['lines'] = [];
  return {
    lines,
    info: (message, fields = {}) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields = {}) => lines.push({ level: 'warn', message, fields }),
  };
}

/** The output files of a finished run, as text. */
export interface RunOutput {
  readonly record: RunRecord;
  readonly out: string;
  readonly stateDir: string;
  readonly labels: string;
  readonly reportText: string;
  readonly report: Record<string, unknown>;
  /** rejected.csv, or undefined when the run wrote none. */
  readonly rejected: string | undefined;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Reads labels.csv, report.json and rejected.csv from an --out directory. */
export async function readOutput(
  out: string,
): Promise<Pick<RunOutput, 'labels' | 'reportText' | 'report' | 'rejected'>> {
  const reportText = await readFile(join(out, 'report.json'), 'utf8');
  return {
    labels: await readFile(join(out, 'labels.csv'), 'utf8'),
    reportText,
    report: JSON.parse(reportText) as Record<string, unknown>,
    rejected: await readOptional(join(out, 'rejected.csv')),
  };
}

export interface PipelineRunExtras {
  readonly faults?: { readonly rate: number; readonly seed: number };
  readonly log?: StageLog;
  /** Keep state in this directory (default: a fresh one). */
  readonly stateDir?: string;
}

/** `runEmbedded` into fresh temporary out/ and state directories, options parsed as the CLI parses them. */
export async function runPipeline(
  input: string,
  options: RunOptionsInput,
  extras: PipelineRunExtras = {},
): Promise<RunOutput> {
  const dir = await tempDir();
  const out = join(dir, 'out');
  const stateDir = extras.stateDir ?? join(dir, 'state');
  const record = await runEmbedded({
    input,
    out,
    stateDir,
    options: parseRunOptions(options),
    ...(extras.faults ? { faults: extras.faults } : {}),
    ...(extras.log ? { log: extras.log } : {}),
  });
  return { record, out, stateDir, ...(await readOutput(out)) };
}

/** run.json of a run kept in a state directory. */
export async function readRunRecord(stateDir: string, runId: string): Promise<RunRecord> {
  return JSON.parse(await readFile(join(stateDir, 'runs', runId, 'run.json'), 'utf8')) as RunRecord;
}

/**
 * report.json without what may differ between two runs of the same input and options: the run id, the
 * timings and stage metrics (measurements), the changes against a dataset's previous version (runs over
 * incoming/ publish one, embedded runs without --dataset do not), and the shard and worker counts among the
 * parameters (they are the options being varied), with the cell ranges that follow the shard count.
 */
export function comparableReport(report: Record<string, unknown>): Record<string, unknown> {
  const {
    runId: _runId,
    timings: _timings,
    stageMetrics: _stageMetrics,
    changes: _changes,
    parameters,
    ...rest
  } = report;
  const { shards: _shards, workers: _workers, ...kept } = parameters as Record<string, unknown>;
  // The cell ranges of approximate neighbours are about one per shard: a layout, not a result.
  if (rest.neighbors !== undefined) {
    const { ranges: _ranges, ...neighbors } = rest.neighbors as Record<string, unknown>;
    rest.neighbors = neighbors;
  }
  return { ...rest, parameters: kept };
}

export interface SpawnResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns `node bin/pseudolabel.mjs <args>` in `cwd`, as a user would, with `env` added to this process's. */
export function spawnCli(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<SpawnResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/pseudolabel.mjs'), ...args], {
      cwd,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', fail);
    child.on('close', (code, signal) =>
      done({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
  });
}

/** labels.csv as records (ids and labels of the generated data hold no commas or quotes). */
export function parseLabels(text: string): { id: string; label: string; confidence: number; source: string }[] {
  const [header, ...lines] = text.trimEnd().split('\n');
  if (header !== 'id,label,confidence,source') throw new Error(`unexpected labels.csv header: ${header}`);
  return lines.map((line) => {
    const [id, label, confidence, source] = line.split(',');
    return { id, label, confidence: Number(confidence), source };
  });
}
