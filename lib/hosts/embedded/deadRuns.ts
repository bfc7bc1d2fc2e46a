import type { FilesystemObjectStore } from '../../adapters/filesystemObjectStore.ts';
import { findRunner, runnerGoneReason } from '../../pipeline/run/runnerLiveness.ts';
import { findRun, markRunFailed } from '../../pipeline/run/runRecord.ts';
import type { StageLog } from '../../pipeline/stageContext.ts';
import { deleteIntermediates } from './intermediates.ts';

/**
 * Ends the runs of embedded runners that died without a word (SIGKILL, the machine restarted): each run in the
 * state directory that still says "running" while its runner is gone (runnerLiveness.ts) is marked failed with
 * the reason, and its intermediates are deleted. `pseudolabel run` calls it before it starts a new run.
 */
export async function endDeadRuns(store: FilesystemObjectStore, log: StageLog): Promise<string[]> {
  const ended: string[] = [];
  const runnerFiles = (await store.keys('runs/')).filter((key) => /^runs\/[^/]+\/runner\.json$/.test(key));
  for (const key of runnerFiles) {
    const runId = key.split('/')[1];
    const [run, runner] = await Promise.all([findRun(store, runId), findRunner(store, runId)]);
    const reason = run?.status === 'running' && runner ? runnerGoneReason(runner) : undefined;
    if (reason === undefined && run?.status === 'running') continue;
    await deleteIntermediates(store, runId);
    if (reason !== undefined) {
      await markRunFailed(store, runId, { error: reason });
      log.warn('run of a dead runner marked failed; its intermediates deleted', { runId, reason });
      ended.push(runId);
    }
  }
  return ended;
}
