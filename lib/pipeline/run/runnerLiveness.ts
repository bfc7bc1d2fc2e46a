import { hostname } from 'node:os';
import { NotFoundError } from '../../adapters/errors.ts';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';

/** runs/<runId>/runner.json: which process runs an embedded run, and when it last said so. */
export interface RunnerInfo {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly heartbeatAt: string;
}

/** How often the embedded runner rewrites runner.json. */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/**
 * A runner not heard from for this long is taken for dead even when its pid is alive (the pid reused by another
 * process, or a runner on another host sharing the state directory). Long, because the runner's own thread may
 * be busy for a while (finalize of a large run).
 */
export const HEARTBEAT_STALE_MS = 10 * 60_000;

/** Whether a process with this pid exists on this host (signal 0 probes without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // it exists, owned by someone else
  }
}

export async function findRunner(store: ObjectStore, runId: string): Promise<RunnerInfo | undefined> {
  try {
    return await readJson<RunnerInfo>(store, keys.runner(runId));
  } catch (error) {
    if (error instanceof NotFoundError || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/**
 * Why the embedded runner of a run that says "running" is gone, or undefined while it lives: on this host, its
 * process no longer exists (killed with SIGKILL, or the machine restarted); anywhere, its heartbeat is stale.
 */
export function runnerGoneReason(
  runner: RunnerInfo,
  now = new Date(),
  alive: (pid: number) => boolean = processAlive,
): string | undefined {
  if (runner.host === hostname() && !alive(runner.pid)) {
    return `the embedded runner (pid ${runner.pid}) ended without finishing the run (killed, or the machine restarted)`;
  }
  if (now.getTime() - new Date(runner.heartbeatAt).getTime() > HEARTBEAT_STALE_MS) {
    return `the embedded runner (pid ${runner.pid} on ${runner.host}) has not been heard from since ${runner.heartbeatAt}`;
  }
  return undefined;
}
