import { storeFromUrl } from '../adapters/storeFromUrl.ts';
import { findRun, markRunCancelled } from '../pipeline/run/runRecord.ts';

export interface CancelFlags {
  /** Where runs/ lives: the embedded state dir (default ./.pseudolabel) or s3://bucket. */
  readonly store?: string;
}

/**
 * `pseudolabel cancel <runId> [--store s3://...]`: marks the run cancelled in run.json. Its tasks stop at their
 * next step (executeTask ignores ended runs, and a step that finds its run ended sends nothing more); an
 * embedded runner notices it at its next heartbeat, stops its tasks and deletes the intermediates. Exit code 0
 * when the run is (now or already) cancelled, 1 when it does not exist or has already succeeded or failed.
 */
export async function cancelCommand(runId: string, flags: CancelFlags): Promise<number> {
  const location = flags.store ?? process.env.PSEUDOLABEL_STORE ?? '.pseudolabel';
  const store = storeFromUrl(location);
  const run = await findRun(store, runId);
  if (!run) {
    process.stderr.write(`pseudolabel: no run ${runId} in ${location}\n`);
    return 1;
  }
  const record = await markRunCancelled(store, runId, 'cancelled by pseudolabel cancel');
  if (record.status !== 'cancelled') {
    process.stderr.write(`pseudolabel: run ${runId} has already ended: ${record.status}\n`);
    return 1;
  }
  process.stderr.write(`pseudolabel: run ${runId} cancelled (${record.error}); its tasks stop at their next step\n`);
  return 0;
}
