import { hostname } from 'node:os';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import { keys } from '../../pipeline/keys.ts';
import { HEARTBEAT_INTERVAL_MS, type RunnerInfo } from '../../pipeline/run/runnerLiveness.ts';

export interface Heartbeat {
  /** Stops beating, after the beat in hand (runner.json itself goes with the run's intermediates). */
  stop(): Promise<void>;
}

/**
 * Writes runs/<runId>/runner.json (this process's pid and host) now and every HEARTBEAT_INTERVAL_MS, so that a
 * later `pseudolabel status` tells a runner that was killed (SIGKILL, the machine restarted) from one still
 * working. `onBeat` runs after each beat (the runner checks there whether its run was cancelled). A failed write
 * (the disk full) is ignored: the run itself meets the same disk and fails with the reason.
 */
export async function startHeartbeat(
  store: ObjectStore,
  runId: string,
  onBeat: () => Promise<void> = async () => {},
): Promise<Heartbeat> {
  const startedAt = new Date().toISOString();
  const beat = async () => {
    const info: RunnerInfo = { pid: process.pid, host: hostname(), startedAt, heartbeatAt: new Date().toISOString() };
    await store.put(keys.runner(runId), `${JSON.stringify(info)}\n`).catch(() => {});
  };
  await beat();
  let inHand: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (inHand) return;
    inHand = (async () => {
      await beat();
      await onBeat();
    })()
      .catch(() => {}) // a beat that failed is retried at the next one
      .finally(() => {
        inHand = undefined;
      });
  }, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await inHand;
    },
  };
}
