import type { ObjectStore } from '../adapters/objectStore.ts';
import { keys } from './keys.ts';
import { findRun, type RunRecord } from './runRecord.ts';
import { SHARD_STAGES } from './taskMessage.ts';

/** What `pseudolabel status` shows of a run. */
export interface RunStatusView {
  readonly runId: string;
  readonly dataset: string;
  readonly status: RunRecord['status'];
  readonly stage: RunRecord['stage'];
  readonly round: number;
  /** Shard tasks done / total of the current stage (counted from completion markers). */
  readonly shardsDone: number;
  readonly shardsTotal: number;
  readonly elapsedSeconds: number;
  readonly error?: string;
  readonly output?: string;
}

/** The newest run under runs/ (run ids start with the dataset, so compare run.json creation times). */
export async function latestRunId(store: ObjectStore): Promise<string | undefined> {
  const runs = (await store.list('runs/')).filter((info) => /^runs\/[^/]+\/run\.json$/.test(info.key));
  let latest: { id: string; created: string } | undefined;
  for (const info of runs) {
    const id = info.key.split('/')[1];
    const run = await findRun(store, id);
    if (run && (!latest || run.createdAt > latest.created)) latest = { id, created: run.createdAt };
  }
  return latest?.id;
}

export async function runStatus(
  store: ObjectStore,
  runId: string,
  now = new Date(),
): Promise<RunStatusView | undefined> {
  const run = await findRun(store, runId);
  if (!run) return undefined;
  const shardStage = SHARD_STAGES.has(run.stage);
  const done = shardStage ? (await store.list(keys.markers(runId, run.stage, run.round))).length : 0;
  const end = run.finishedAt ? new Date(run.finishedAt) : now;
  return {
    runId,
    dataset: run.dataset,
    status: run.status,
    stage: run.stage,
    round: run.round,
    shardsDone: shardStage ? done : run.status === 'succeeded' ? run.shards : 0,
    shardsTotal: shardStage || run.status === 'succeeded' ? run.shards : 0,
    elapsedSeconds: Math.round((end.getTime() - new Date(run.createdAt).getTime()) / 100) / 10,
    ...(run.error ? { error: run.error } : {}),
    ...(run.status === 'succeeded' ? { output: store.describe(keys.output(runId, '')) } : {}),
  };
}

/** One human line per field. */
export function formatStatus(view: RunStatusView): string {
  const lines = [
    `run      ${view.runId}`,
    `dataset  ${view.dataset}`,
    `status   ${view.status}`,
    `stage    ${view.stage}${view.round > 0 ? ` (round ${view.round})` : ''}`,
    `shards   ${view.shardsDone}/${view.shardsTotal}`,
    `elapsed  ${view.elapsedSeconds} s`,
  ];
  if (view.error) lines.push(`error    ${view.error}`);
  if (view.output) lines.push(`output   ${view.output}`);
  return `${lines.join('\n')}\n`;
}
