import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * End-to-end harness for the `pseudolabel` command: spawns `node bin/pseudolabel.mjs ...` as a user would,
 * so tests depend only on the CLI and its output files, never on how the pipeline runs inside.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/pseudolabel.mjs');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The --out directory given to `run` (it may not exist when the run failed). */
  readonly out: string;
  /** Names of the files in `out`, sorted; empty when it does not exist. */
  readonly files: string[];
  /** Non-empty stderr lines. */
  readonly stderrLines: string[];
  /** A file of `out` as text. */
  read(name: string): Promise<string>;
}

const created: string[] = [];

/** A fresh temporary directory, removed by `removeTempDirs`. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pseudolabel-cli-'));
  created.push(dir);
  return dir;
}

/** Removes every directory made by `tempDir` (call from afterAll). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

/**
 * Runs the command with `args` as given (no --out added), in `cwd` (where an embedded run keeps its
 * `.pseudolabel/` state); `out` is reported for the caller's own use.
 */
export function spawnCli(args: readonly string[], cwd: string, out = ''): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', fail);
    child.on('close', async (code, signal) => {
      const err = Buffer.concat(stderr).toString('utf8');
      done({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: err,
        stderrLines: err.split('\n').filter((line) => line.trim() !== ''),
        out,
        files: out ? await listFiles(out) : [],
        read: (name) => readFile(join(out, name), 'utf8'),
      });
    });
  });
}

/** `pseudolabel run <args> --out <dir>/out` in a fresh temporary directory <dir>. */
export async function runCli(args: readonly string[]): Promise<CliResult> {
  const dir = await tempDir();
  const out = join(dir, 'out');
  return spawnCli(['run', ...args, '--out', out], dir, out);
}

/** Path of a file in the repository (examples, fixtures). */
export function repoPath(...parts: string[]): string {
  return join(ROOT, ...parts);
}

/** Parses simple CSV text (no quoted fields with commas) into records keyed by the header. */
export function parseSimpleCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split('\n');
  const names = header.split(',');
  return lines.map((line) => {
    const fields = line.split(',');
    return Object.fromEntries(names.map((name, i) => [name, fields[i]]));
  });
}
