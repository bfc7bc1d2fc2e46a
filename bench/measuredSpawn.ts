import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs a command and measures its wall time and peak resident set size (RSS, whole process tree root: worker
 * threads count, child processes do not). RSS comes from GNU `/usr/bin/time -v` when present; otherwise
 * from `process.resourceUsage().maxRSS` reported by the command itself, for commands that support it (our
 * CLI, through bench/cliWithRusage.mjs), else it is null.
 */
export interface Measured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Every stderr line with the seconds since the start at which it arrived. */
  readonly stderrTimeline: { readonly at: number; readonly line: string }[];
  readonly wallSeconds: number;
  readonly peakRssMb: number | null;
  /** User + system CPU seconds of the command and the child processes it waited for (GNU time only). */
  readonly cpuSeconds: number | null;
  /** How peakRssMb was measured. */
  readonly rssSource: '/usr/bin/time -v' | 'process.resourceUsage' | 'none';
}

const GNU_TIME = '/usr/bin/time';

export interface SpawnMeasuredOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * When /usr/bin/time is missing: a file the command writes `{"maxRSS": <KiB>}` to (the caller arranges that,
   * e.g. through an environment variable); read after exit.
   */
  readonly rusageFile?: string;
  /** Echo the command's stderr as it arrives (progress of long runs). */
  readonly echoStderr?: boolean;
}

/** Whether GNU time with `-v` and `-o` is available. */
export function hasGnuTime(): boolean {
  return existsSync(GNU_TIME);
}

function parseCpuSeconds(text: string): number | null {
  const user = /User time \(seconds\): ([\d.]+)/.exec(text);
  const system = /System time \(seconds\): ([\d.]+)/.exec(text);
  return user && system ? Number(user[1]) + Number(system[1]) : null;
}

function parseMaxRss(text: string): number | null {
  const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  return match ? Number(match[1]) / 1024 : null;
}

export async function spawnMeasured(
  command: string,
  args: readonly string[],
  options: SpawnMeasuredOptions = {},
): Promise<Measured> {
  const useTime = hasGnuTime();
  const timeFile = join(tmpdir(), `pseudolabel-bench-time-${process.pid}-${Date.now()}.txt`);
  const [file, argv] = useTime ? [GNU_TIME, ['-v', '-o', timeFile, command, ...args]] : [command, [...args]];
  const started = performance.now();
  const stderrTimeline: { at: number; line: string }[] = [];
  let pending = '';
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(file, argv, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err.push(chunk);
      if (options.echoStderr) process.stderr.write(chunk);
      const at = (performance.now() - started) / 1000;
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) stderrTimeline.push({ at, line });
    });
    child.on('error', fail);
    child.on('close', (exit, signal) =>
      done({
        code: exit ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
  const wallSeconds = (performance.now() - started) / 1000;
  if (pending !== '') stderrTimeline.push({ at: wallSeconds, line: pending });
  const base = { code, stdout, stderr, stderrTimeline, wallSeconds };
  if (useTime) {
    const text = await readFile(timeFile, 'utf8').catch(() => '');
    await rm(timeFile, { force: true });
    return { ...base, peakRssMb: parseMaxRss(text), cpuSeconds: parseCpuSeconds(text), rssSource: '/usr/bin/time -v' };
  }
  if (options.rusageFile) {
    const usage = await readFile(options.rusageFile, 'utf8')
      .then((text) => JSON.parse(text) as { maxRSS: number })
      .catch(() => undefined);
    if (usage) return { ...base, peakRssMb: usage.maxRSS / 1024, cpuSeconds: null, rssSource: 'process.resourceUsage' };
  }
  return { ...base, peakRssMb: null, cpuSeconds: null, rssSource: 'none' };
}
