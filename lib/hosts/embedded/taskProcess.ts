import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CapacityError } from '../../errors.ts';
import { builtFile } from '../../packageLayout.ts';
import type { Stage } from '../../pipeline/taskMessage.ts';
import { TASK_ALLOCATOR_ENV } from '../allocatorEnv.ts';
import type { StageWorkerInput, StageWorkerOutput } from './stageWorker.ts';

/**
 * `pseudolabel run --task-memory MB`: every task runs in a child process of its own, as on Lambda, and a task
 * whose process's peak RSS exceeds MB fails. V8's heap limit alone would not hold it (typed arrays, where rows
 * and lists live, are outside the heap), so a watchdog reads the child's peak RSS (VmHWM, Linux) every
 * POLL_MS and kills it at the limit; the child also reports its getrusage peak when it ends (other systems).
 */

/** taskProcessEntry.mjs as scripts/build.mjs copies it into dist/, beside the stage worker's bundle. */
const ENTRY = fileURLToPath(builtFile('taskProcessEntry.mjs'));
const POLL_MS = 25;
const MB = 1024 * 1024;
/** The end of a dead child's stderr kept for the error message. */
const STDERR_TAIL = 2000;

/** Where a task sits in its run, for messages. */
export interface TaskPlace {
  readonly stage: Stage;
  readonly round: number;
  readonly shard: number;
}

/** A task's process exceeded --task-memory: the run fails for good (the task would do it again). */
export class TaskMemoryError extends CapacityError {
  constructor(
    readonly place: TaskPlace,
    readonly peakRssBytes: number,
    readonly limitMb: number,
    hint: string,
  ) {
    const round = place.round > 0 ? ` round ${place.round}` : '';
    super(
      `task ${place.stage} shard ${place.shard}${round} needed more than --task-memory ${limitMb} MB ` +
        `(its peak RSS reached ${Math.ceil(peakRssBytes / MB)} MB); ${hint}`,
    );
    this.name = 'TaskMemoryError';
  }
}

/** What a task process gave back: the messages its task sent, its peak RSS and its process id. */
export interface TaskProcessResult {
  readonly sent: StageWorkerOutput;
  readonly peakRssBytes: number;
  readonly pid: number;
}

interface Reply {
  readonly ok: boolean;
  readonly sent?: StageWorkerOutput;
  readonly error?: string;
  readonly maxRssKb: number;
}

/** The child's peak RSS so far (VmHWM) in bytes, or 0 where /proc is missing or the process is gone. */
async function peakRssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * Runs one task in a new child process (the stage worker at `entry`, the same module the worker threads load)
 * with at most `limitMb` of memory. Resolves with what the task sent; rejects with TaskMemoryError when the
 * process went over the limit (`hint` says what would help), or with an Error when the task failed or the
 * process died (the runner then delivers the task again). Aborting `signal` kills the process (a cancelled run).
 */
export function runInTaskProcess(
  entry: string,
  input: StageWorkerInput,
  place: TaskPlace,
  limitMb: number,
  hint: string,
  signal?: AbortSignal,
): Promise<TaskProcessResult> {
  const limitBytes = limitMb * MB;
  // A heap limit at the task's memory makes V8 collect before its heap alone could reach it.
  const child = fork(ENTRY, [], {
    execArgv: [`--max-old-space-size=${limitMb}`],
    // freed shard buffers go back to the system, as on Lambda (allocatorEnv.ts)
    env: { ...process.env, ...TASK_ALLOCATOR_ENV },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const pid = child.pid ?? 0;
  let peak = 0;
  let stderr = '';
  let reply: Reply | undefined;
  let overLimit = false;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL);
  });
  child.on('message', (message) => {
    reply = message as Reply;
  });
  const watchdog = setInterval(async () => {
    const now = await peakRssOf(pid); // read before taking the max: polls may overlap
    peak = Math.max(peak, now);
    if (peak > limitBytes && !overLimit) {
      overLimit = true;
      child.kill('SIGKILL');
    }
  }, POLL_MS);
  return new Promise<TaskProcessResult>((resolve, reject) => {
    child.on('error', (error) => {
      clearInterval(watchdog);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearInterval(watchdog);
      peak = Math.max(peak, (reply?.maxRssKb ?? 0) * 1024);
      const heapExhausted = /heap limit|heap out of memory/i.test(stderr);
      if (overLimit || peak > limitBytes || heapExhausted) {
        reject(new TaskMemoryError(place, Math.max(peak, heapExhausted ? limitBytes : 0), limitMb, hint));
      } else if (reply?.ok && reply.sent) {
        resolve({ sent: reply.sent, peakRssBytes: peak, pid });
      } else if (reply) {
        reject(new Error(reply.error));
      } else {
        const how = signal ? `signal ${signal}` : `code ${code}`;
        reject(new Error(`task process ${pid} ended with ${how} before its task finished: ${stderr.trim()}`));
      }
    });
    // The run was cancelled: the task stops now (it is not delivered again).
    const kill = () => child.kill('SIGKILL');
    if (signal?.aborted) kill();
    signal?.addEventListener('abort', kill, { once: true });
    child.once('exit', () => signal?.removeEventListener('abort', kill));
    child.send({ entry, input });
  });
}

/** At most `slots` task processes at a time (--workers). */
export class TaskProcessSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly slots: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    // A slot freed while others wait passes straight to the first of them (running stays counted).
    if (this.running >= this.slots) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
