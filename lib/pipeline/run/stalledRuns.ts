import type { ObjectStore } from '../../adapters/objectStore.ts';
import { isStalled } from './runDeadline.ts';
import { findRun, type RunRecord } from './runRecord.ts';

/**
 * The runs of a store that still say "running" past their deadline (runDeadline.ts): what the deadline watch
 * counts for the stack's alarm. Reads every run.json under runs/.
 */
export async function stalledRuns(store: ObjectStore, now = new Date()): Promise<RunRecord[]> {
  const records = (await store.list('runs/')).filter((info) => /^runs\/[^/]+\/run\.json$/.test(info.key));
  const stalled: RunRecord[] = [];
  for (const info of records) {
    const run = await findRun(store, info.key.split('/')[1]);
    if (run && isStalled(run, now)) stalled.push(run);
  }
  return stalled;
}
