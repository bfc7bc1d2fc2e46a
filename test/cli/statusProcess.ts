import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoPath } from './cliHarness.ts';

/**
 * A `pseudolabel` child process (`pseudolabel status --watch`, or a run to watch) whose output a test reads while
 * it runs: the test moves a run forward step by step and waits for each step to show.
 */
export class LiveCli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  constructor(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [repoPath('bin/pseudolabel.mjs'), ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((done, fail) => {
      this.child.once('error', fail);
      this.child.once('close', (code, signal) => done(code ?? (signal ? 128 : 1)));
    });
    running.add(this);
    void this.exited.finally(() => running.delete(this));
  }

  /** Non-empty stderr lines so far. */
  get stderrLines(): string[] {
    return this.stderr.split('\n').filter((line) => line.trim() !== '');
  }

  /** Waits until stderr has a line containing `text`; fails with the output so far after `timeoutMs`. */
  async waitForLine(text: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stderrLines.some((line) => line.includes(text))) {
      if (Date.now() > deadline) throw new Error(`no line with "${text}" in:\n${this.stderr}\n${this.stdout}`);
      await sleep(20);
    }
  }

  /** Ends this process (by its pid) if it still runs. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const running = new Set<LiveCli>();

/** Ends every LiveCli still running (afterEach / afterAll). */
export function killLiveClis(): void {
  for (const cli of running) cli.kill();
}
