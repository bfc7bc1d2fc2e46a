import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectStore } from '../adapters/objectStore.ts';
import { storeFromUrl } from '../adapters/storeFromUrl.ts';
import { formatStatus, latestRunId, outputStatus, type RunStatusView, runStatus } from '../pipeline/run/runStatus.ts';
import { statusTarget } from './statusTarget.ts';
import { watchRun } from './statusWatch.ts';

export interface StatusFlags {
  readonly latest?: boolean;
  readonly json?: boolean;
  /** Where runs/ lives: the embedded state dir (default ./.pseudolabel) or s3://bucket. */
  readonly store?: string;
  /** Follow the run until it succeeds or fails. */
  readonly watch?: boolean;
  /** Milliseconds between polls with --watch (default 1000). */
  readonly interval?: number;
  /** The latest run of this dataset (the folder under incoming/), rather than the latest run of all. */
  readonly dataset?: string;
  /**
   * With --watch, seconds to wait for a run that does not exist yet (files just dropped: the run starts after the
   * events batching window) before giving up; default 60.
   */
  readonly timeout?: number;
}

/** Default of --timeout: how long --watch waits for the run to appear. */
const WATCH_WAIT_SECONDS = 60;

/**
 * `pseudolabel status [runId|location] [--latest] [--json] [--watch]`: reads run.json and the completion markers,
 * or an output folder's report.json. Exit code 0, 2 for a failed run (its error on stderr; a run whose embedded
 * runner was killed counts as failed), 3 for a cancelled one.
 */
export async function statusCommand(argument: string | undefined, flags: StatusFlags): Promise<number> {
  const interval = flags.interval ?? 1000;
  if (!(interval > 0)) throw new RangeError('--interval needs a positive number of milliseconds');
  const defaultStore = flags.store ?? process.env.PSEUDOLABEL_STORE ?? '.pseudolabel';
  const target = statusTarget(argument, defaultStore, flags.store !== undefined);
  const timeout = flags.timeout ?? WATCH_WAIT_SECONDS;
  if (!(timeout >= 0)) throw new RangeError('--timeout needs a number of seconds >= 0');
  let view = target.kind === 'location' ? await outputFolderStatus(target.store, defaultStore) : undefined;
  if (!view) {
    const given = target.kind === 'run' ? target.runId : undefined;
    const find = async () => given ?? (await latestRunId(target.store, flags.dataset));
    const ofDataset = flags.dataset === undefined ? '' : ` of dataset ${flags.dataset}`;
    // --watch on a run that does not exist yet (files just dropped) waits for it to appear.
    const sought = given === undefined ? `a run${ofDataset}` : `run ${given}`;
    const waiting = () =>
      process.stderr.write(`pseudolabel: waiting up to ${timeout} s for ${sought} in ${target.location}\n`);
    const runId = flags.watch ? await appeared(find, target.store, timeout, interval, waiting) : await find();
    if (!runId) {
      const waited = flags.watch ? ` within ${timeout} s` : '';
      const what = given === undefined ? `no run${ofDataset} found` : `no run ${given}`;
      process.stderr.write(`pseudolabel: ${what} in ${target.location}${waited}\n`);
      return 1;
    }
    view = flags.watch
      ? await watchRun(target.store, runId, { intervalMs: interval, stream: process.stderr })
      : await runStatus(target.store, runId);
    if (!view) {
      process.stderr.write(`pseudolabel: no run ${runId} in ${target.location}\n`);
      return 1;
    }
  }
  process.stdout.write(flags.json ? `${JSON.stringify(view, null, 2)}\n` : formatStatus(view));
  if (view.status === 'cancelled') {
    process.stderr.write(`pseudolabel: run ${view.runId} was cancelled: ${view.error ?? 'no reason recorded'}\n`);
    return 3;
  }
  if (view.status !== 'failed') return 0;
  process.stderr.write(`pseudolabel: run ${view.runId} failed: ${view.error ?? 'no reason recorded'}\n`);
  return 2;
}

/**
 * Polls until the run exists (its run.json), up to `timeoutSeconds`: returns its id, or undefined when none
 * appeared in time. `waiting` is called once, when the first poll found no run.
 */
async function appeared(
  find: () => Promise<string | undefined>,
  store: ObjectStore,
  timeoutSeconds: number,
  intervalMs: number,
  waiting: () => void,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (let poll = 0; ; poll++) {
    const runId = await find();
    if (runId !== undefined && (await runStatus(store, runId)) !== undefined) return runId;
    if (poll === 0) waiting();
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** An output folder's report.json, with what run.json says when the state store still has the run. */
async function outputFolderStatus(folder: ObjectStore, stateStore: string): Promise<RunStatusView | undefined> {
  const fromReport = await outputStatus(folder);
  if (!fromReport) return undefined;
  let fromRun: RunStatusView | undefined;
  try {
    fromRun = await runStatus(storeFromUrl(stateStore), fromReport.runId);
  } catch {
    // The state store is optional here (removed, or unreachable): the report alone is the status.
  }
  return fromRun ? { ...fromRun, output: fromReport.output, result: fromReport.result } : fromReport;
}
