import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../../..');
const BIN = join(ROOT, 'bin/pseudolabel.mjs');

/**
 * A real `pseudolabel worker` child process, as a user starts it (`node bin/pseudolabel.mjs worker --endpoint`),
 * with its stderr kept for failure messages. Every started worker is remembered so `stopAllWorkers()` (afterEach /
 * afterAll) ends exactly the processes the tests started, by pid.
 */
export class WorkerProcess {
  private readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.output.push(chunk));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.output.push(chunk));
    this.exited = new Promise((done) => child.once('exit', (code, signal) => done(signal ? null : code)));
  }

  /** Starts a worker and waits until it consumes its queues (its `worker: consuming ...` line). */
  static async start(endpoint: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<WorkerProcess> {
    const child = spawn(process.execPath, [BIN, 'worker', '--endpoint', endpoint], {
      cwd: ROOT,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new WorkerProcess(child);
    running.add(worker);
    await worker.waitForLog('worker: consuming', timeoutMs);
    return worker;
  }

  /** Waits until the worker has written `text` (stderr or stdout); throws, with its log, if it exits first. */
  async waitForLog(text: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.log.includes(text)) {
      if (!this.alive) throw new Error(`the worker exited before writing "${text}":\n${this.log}`);
      if (Date.now() > deadline)
        throw new Error(`the worker did not write "${text}" within ${timeoutMs} ms:\n${this.log}`);
      await sleep(50);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Everything the worker wrote so far (stderr and stdout). */
  get log(): string {
    return this.output.join('');
  }

  /** Resolves with the exit code (null when signalled) once the process has exited. */
  exit(): Promise<number | null> {
    return this.exited;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` to this process only and waits for it to exit; returns its exit code (null when signalled). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.alive) this.child.kill(signal);
    const code = await this.exited;
    running.delete(this);
    return code;
  }
}

const running = new Set<WorkerProcess>();

/** Kills (SIGKILL) every worker the tests started that is still running. */
export async function stopAllWorkers(): Promise<void> {
  await Promise.all([...running].map((worker) => worker.stop('SIGKILL')));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
