import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blobRows, csvText } from '../pipeline/support/datasets.ts';
import { removeTempDirs, repoPath, spawnCli, tempDir } from './cliHarness.ts';

/**
 * Every run ends (DESIGN.md section 5) on the embedded runner too: SIGINT / SIGTERM during `pseudolabel run`
 * cancel the run (run.json cancelled, intermediates deleted, exit 130 / 143); a runner killed with SIGKILL is
 * reported failed by a later `status`, and the next `run` records that and deletes what it left behind.
 */

afterAll(removeTempDirs);

/** A data set big enough that the run is still in its shard stages when the test signals it. */
async function bigInput(dir: string): Promise<string> {
  const path = join(dir, 'blobs.csv');
  await writeFile(path, csvText(blobRows({ n: 40_000, d: 24, seed: 11 })));
  return path;
}

interface Started {
  readonly child: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stderr: () => string;
}

function startRun(cwd: string, input: string): Started {
  const child = spawn(
    process.execPath,
    [
      repoPath('bin/pseudolabel.mjs'),
      'run',
      '--input',
      input,
      '--out',
      join(cwd, 'out'),
      '--shards',
      '8',
      '--workers',
      '2',
    ],
    { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const chunks: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => chunks.push(chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return { child, exit, stderr: () => chunks.join('') };
}

/** Waits until the run has written a completion marker of its ingest stage; returns the run directory. */
async function waitUntilIngesting(cwd: string, started: Started, timeoutMs = 60_000): Promise<string> {
  const runs = join(cwd, '.pseudolabel', 'runs');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [runId] = await readdir(runs).catch(() => []);
    if (runId && (await exists(join(runs, runId, 'markers', 'ingest')))) return join(runs, runId);
    if (started.child.exitCode !== null) throw new Error(`the run ended before ingesting:\n${started.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no ingest marker within ${timeoutMs} ms:\n${started.stderr()}`);
    await new Promise((done) => setTimeout(done, 25));
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function runJson(runDir: string) {
  return JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')) as Record<string, unknown>;
}

describe('pseudolabel run stopped by a signal or by pseudolabel cancel', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: cancels the run, deletes its intermediates and exits with %i', async (signal, expectedCode) => {
    // Prepare
    const cwd = await tempDir();
    const started = startRun(cwd, await bigInput(cwd));
    const runDir = await waitUntilIngesting(cwd, started);

    // Act
    started.child.kill(signal);
    const { code } = await started.exit;

    // Assess
    expect(code, started.stderr()).toBe(expectedCode);
    const record = await runJson(runDir);
    expect({ status: record.status, error: record.error }).toEqual({
      status: 'cancelled',
      error: `cancelled by ${signal}`,
    });
    expect(record.finishedAt).toBeDefined();
    expect(await readdir(runDir)).toEqual(['run.json']);
    expect(await exists(join(cwd, 'out'))).toBe(false); // made by the --out check only, and removed again
    expect(started.stderr()).toMatch(/cancelled by .*; its intermediates were deleted/);
    const status = await spawnCli(['status', '--json'], cwd);
    expect(status.code).toBe(3);
    expect(JSON.parse(status.stdout).status).toBe('cancelled');
  });

  it('pseudolabel cancel from another shell: the run stops, exits 3, and status shows it cancelled', async () => {
    // Prepare
    const cwd = await tempDir();
    const started = startRun(cwd, await bigInput(cwd));
    const runDir = await waitUntilIngesting(cwd, started);
    const runId = runDir.split('/').at(-1)!;

    // Act
    const cancel = await spawnCli(['cancel', runId], cwd);
    const { code } = await started.exit;
    const status = await spawnCli(['status', runId], cwd);

    // Assess
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(code, started.stderr()).toBe(3);
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(/status\s+cancelled/);
    expect(status.stdout).toMatch(/error\s+cancelled by pseudolabel cancel/);
    expect(await readdir(runDir)).toEqual(['run.json']);
    expect(await exists(join(cwd, 'out'))).toBe(false); // made by the --out check only, and removed again
  });

  it('pseudolabel cancel refuses a run that does not exist or has ended', async () => {
    // Prepare
    const cwd = await tempDir();
    const small = join(cwd, 'small.csv');
    await writeFile(small, csvText(blobRows({ n: 60, seed: 2 })));
    await spawnCli(['run', '--input', small, '--out', join(cwd, 'out'), '--neighbors', '5'], cwd);
    const [runId] = await readdir(join(cwd, '.pseudolabel', 'runs'));

    // Act
    const missing = await spawnCli(['cancel', 'no-such-run'], cwd);
    const ended = await spawnCli(['cancel', runId], cwd);

    // Assess
    expect(missing.code).toBe(1);
    expect(missing.stderrLines).toEqual([`pseudolabel: no run no-such-run in .pseudolabel`]);
    expect(ended.code).toBe(1);
    expect(ended.stderrLines).toEqual([`pseudolabel: run ${runId} has already ended: succeeded`]);
  });

  it('SIGKILL: a later status reports the run failed (its runner is dead); the next run cleans it up', async () => {
    // Prepare
    const cwd = await tempDir();
    const input = await bigInput(cwd);
    const killed = startRun(cwd, input);
    const runDir = await waitUntilIngesting(cwd, killed);

    // Act
    killed.child.kill('SIGKILL');
    await killed.exit;
    const status = await spawnCli(['status', '--json'], cwd);
    const recordBefore = await runJson(runDir);
    const small = join(cwd, 'small.csv');
    await writeFile(small, csvText(blobRows({ n: 60, seed: 2 })));
    const next = await spawnCli(['run', '--input', small, '--out', join(cwd, 'out2'), '--neighbors', '5'], cwd);

    // Assess
    expect(status.code).toBe(2);
    const view = JSON.parse(status.stdout);
    expect(view.status).toBe('failed');
    expect(view.error).toMatch(/^the embedded runner \(pid \d+\) ended without finishing the run/);
    expect(recordBefore.status).toBe('running'); // status only reports; run.json is mended by the next run
    expect(next.code, next.stderr).toBe(0);
    const recordAfter = await runJson(runDir);
    expect(recordAfter.status).toBe('failed');
    expect(recordAfter.error).toBe(view.error);
    expect(await readdir(runDir)).toEqual(['run.json']);
  });
});
