import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectStore } from '../adapters/objectStore.ts';
import { progressLine, type RunStatusView, runStatus, type StageProgress } from '../pipeline/run/runStatus.ts';
import { type ProgressReporter, progressReporter } from './progressReporter.ts';

export interface WatchOptions {
  /** Milliseconds between polls of run.json and the markers. */
  readonly intervalMs: number;
  /** Where the bars (terminal) or change lines (otherwise) go. */
  readonly stream: NodeJS.WriteStream;
  /** Consecutive failed polls tolerated (a store briefly unavailable) before giving up. Default 5. */
  readonly retries?: number;
}

/**
 * Polls a run until it has succeeded or failed, showing a bar per shard stage and round and a status line with
 * round and elapsed time; returns the final view, or undefined when the run does not exist.
 */
export async function watchRun(
  store: ObjectStore,
  runId: string,
  options: WatchOptions,
): Promise<RunStatusView | undefined> {
  let reporter: ProgressReporter | undefined;
  const seen = new Map<string, StageProgress>();
  let failures = 0;
  try {
    for (;;) {
      let view: RunStatusView | undefined;
      try {
        view = await runStatus(store, runId);
        failures = 0;
      } catch (error) {
        if (++failures > (options.retries ?? 5)) throw error;
      }
      if (view === undefined && failures === 0) return undefined;
      if (view) {
        if (!reporter) {
          reporter = await progressReporter(options.stream);
          reporter.note(`watching ${runId}`);
        }
        // Embedded runs delete their markers when they succeed: show the stages seen so far as complete.
        for (const stage of view.progress) seen.set(`${stage.stage}/${stage.round}`, stage);
        if (view.status === 'succeeded')
          for (const [key, stage] of seen) seen.set(key, { ...stage, done: stage.total });
        for (const stage of seen.values()) reporter.update(stage);
        reporter.note(progressLine(view), progressLine({ ...view, elapsedSeconds: undefined }));
        if (view.status !== 'running') return view;
      }
      await sleep(options.intervalMs);
    }
  } finally {
    reporter?.stop();
  }
}
