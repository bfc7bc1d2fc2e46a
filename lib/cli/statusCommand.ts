import { storeFromUrl } from '../adapters/storeFromUrl.ts';
import { formatStatus, latestRunId, runStatus } from '../pipeline/runStatus.ts';

export interface StatusFlags {
  readonly latest?: boolean;
  readonly json?: boolean;
  /** Where runs/ lives: the embedded state dir (default ./.pseudolabel) or s3://bucket. */
  readonly store?: string;
}

/** `pseudolabel status [runId|--latest] [--json]`: reads run.json and the completion markers. */
export async function statusCommand(runIdArgument: string | undefined, flags: StatusFlags): Promise<number> {
  const location = flags.store ?? process.env.PSEUDOLABEL_STORE ?? '.pseudolabel';
  const store = storeFromUrl(location);
  const runId = runIdArgument ?? (await latestRunId(store));
  if (!runId) {
    process.stderr.write(`pseudolabel: no run found in ${location}\n`);
    return 1;
  }
  const view = await runStatus(store, runId);
  if (!view) {
    process.stderr.write(`pseudolabel: no run ${runId} in ${location}\n`);
    return 1;
  }
  process.stdout.write(flags.json ? `${JSON.stringify(view, null, 2)}\n` : formatStatus(view));
  return view.status === 'failed' ? 2 : 0;
}
