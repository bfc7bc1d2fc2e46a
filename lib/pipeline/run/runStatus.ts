import { NotFoundError } from '../../adapters/errors.ts';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import type { RunReport } from '../outputs/runReport.ts';
import { SHARD_STAGES, STAGES, type Stage } from '../taskMessage.ts';
import { isStalled } from './runDeadline.ts';
import { findRunner, runnerGoneReason } from './runnerLiveness.ts';
import { findRun, type RunRecord } from './runRecord.ts';

/** Shard tasks of one stage and round, done / total (counted from completion markers). */
export interface StageProgress {
  readonly stage: Stage;
  readonly round: number;
  readonly done: number;
  readonly total: number;
}

/** What report.json says of a finished run. */
export interface RunResult {
  readonly method: string;
  readonly rows: number;
  readonly given: number;
  readonly labelled: number;
  readonly rejected: number;
}

/** What `pseudolabel status` shows of a run. */
export interface RunStatusView {
  readonly runId: string;
  /** Absent when only an output folder (report.json) was found. */
  readonly dataset?: string;
  readonly status: RunRecord['status'];
  readonly stage: RunRecord['stage'];
  readonly round: number;
  /** Shard tasks done / total of the current stage (counted from completion markers). */
  readonly shardsDone: number;
  readonly shardsTotal: number;
  /** Every shard stage and round with markers so far, in run order (empty once intermediates are deleted). */
  readonly progress: readonly StageProgress[];
  /** Absent when only an output folder was found. */
  readonly elapsedSeconds?: number;
  readonly error?: string;
  /** When the run should have ended (set at plan time from its size). */
  readonly deadline?: string;
  /** Still running past its deadline: something is stuck (see the error of its tasks, or cancel it). */
  readonly stalled?: boolean;
  readonly output?: string;
  readonly result?: RunResult;
}

/**
 * The newest run under runs/ (run ids start with the dataset, so compare run.json creation times), of one dataset
 * when given.
 */
export async function latestRunId(store: ObjectStore, dataset?: string): Promise<string | undefined> {
  const runs = (await store.list('runs/')).filter((info) => /^runs\/[^/]+\/run\.json$/.test(info.key));
  let latest: { id: string; created: string } | undefined;
  for (const info of runs) {
    const id = info.key.split('/')[1];
    const run = await findRun(store, id);
    if (!run || (dataset !== undefined && run.dataset !== dataset)) continue;
    if (!latest || run.createdAt > latest.created) latest = { id, created: run.createdAt };
  }
  return latest?.id;
}

/** A run's status from its run.json, its completion markers and, once it succeeded, its report.json. */
export async function runStatus(
  store: ObjectStore,
  runId: string,
  now = new Date(),
): Promise<RunStatusView | undefined> {
  const found = await findRun(store, runId);
  if (!found) return undefined;
  const run = await withDeadRunner(store, found, now);
  const progress = await stageProgress(store, run);
  const current = SHARD_STAGES.has(run.stage)
    ? progress.find((p) => p.stage === run.stage && p.round === run.round)
    : undefined;
  const succeeded = run.status === 'succeeded';
  const end = run.finishedAt ? new Date(run.finishedAt) : now;
  const report = succeeded ? await findReport(store, keys.output(runId, 'report.json')) : undefined;
  return {
    runId,
    dataset: run.dataset,
    status: run.status,
    stage: run.stage,
    round: run.round,
    shardsDone: current?.done ?? (succeeded ? run.shards : 0),
    shardsTotal: current?.total ?? (succeeded ? run.shards : 0),
    progress,
    elapsedSeconds: Math.round((end.getTime() - new Date(run.createdAt).getTime()) / 100) / 10,
    ...(run.error ? { error: run.error } : {}),
    ...(run.deadline ? { deadline: run.deadline } : {}),
    ...(isStalled(run, now) ? { stalled: true } : {}),
    ...(succeeded ? { output: store.describe(keys.output(runId, '')) } : {}),
    ...(report ? { result: runResult(report) } : {}),
  };
}

/**
 * A run that says "running" while its embedded runner is gone (killed: runnerLiveness.ts) is shown as failed,
 * with the reason; `pseudolabel run` records that in run.json when it next starts (embedded/deadRuns.ts).
 */
async function withDeadRunner(store: ObjectStore, run: RunRecord, now: Date): Promise<RunRecord> {
  if (run.status !== 'running') return run;
  const runner = await findRunner(store, run.runId);
  const reason = runner ? runnerGoneReason(runner, now) : undefined;
  if (reason === undefined) return run;
  return { ...run, status: 'failed', error: reason, finishedAt: runner?.heartbeatAt };
}

/**
 * The status of an output folder (`run --out`): what its report.json says, or undefined without one. The
 * folder holds only finished runs; `runStatus` on the state store says more when run.json is still there.
 */
export async function outputStatus(store: ObjectStore): Promise<RunStatusView | undefined> {
  const report = await findReport(store, 'report.json');
  if (!report) return undefined;
  const last = report.rounds.at(-1);
  return {
    runId: report.runId,
    status: 'succeeded',
    stage: 'finalize',
    round: last?.round ?? 0,
    shardsDone: 0,
    shardsTotal: 0,
    progress: [],
    output: store.describe(''),
    result: runResult(report),
  };
}

/**
 * Shard tasks per round of a stage: approximate neighbours run one neighbors task per cell range, the fanned-out
 * propagation's edges, degrees and iterate one per partition; every other shard stage one per shard.
 */
function tasksOf(run: RunRecord, stage: Stage): number {
  if (stage === 'neighbors' && run.neighbors?.ranges !== undefined) return run.neighbors.ranges;
  if ((stage === 'edges' || stage === 'degrees' || stage === 'iterate') && run.partitions) return run.partitions.count;
  return run.shards;
}

/** Counts the markers under runs/<runId>/markers/ by stage and round; the current shard stage shows even at 0. */
async function stageProgress(store: ObjectStore, run: RunRecord): Promise<StageProgress[]> {
  const counts = new Map<string, StageProgress>();
  const count = (stage: Stage, round: number, add: number) => {
    const key = `${stage}/${round}`;
    const done = (counts.get(key)?.done ?? 0) + add;
    const tasks = tasksOf(run, stage);
    counts.set(key, { stage, round, done, total: Math.max(tasks, done) });
  };
  if (SHARD_STAGES.has(run.stage) && run.status === 'running') count(run.stage, run.round, 0);
  const prefix = keys.runPrefix(run.runId);
  for (const info of await store.list(`${prefix}markers/`)) {
    const match = /^markers\/([a-z]+)\/(\d+)\/[^/]+$/.exec(info.key.slice(prefix.length));
    if (match && SHARD_STAGES.has(match[1] as Stage)) count(match[1] as Stage, Number(match[2]), 1);
  }
  const order = (p: StageProgress) => p.round * STAGES.length + STAGES.indexOf(p.stage);
  return [...counts.values()].sort((a, b) => order(a) - order(b));
}

async function findReport(store: ObjectStore, key: string): Promise<RunReport | undefined> {
  try {
    return await readJson<RunReport>(store, key);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

function runResult(report: RunReport): RunResult {
  const none = report.rounds.at(-1)?.counts.none ?? {};
  const unreached = Object.values(none).reduce((a, b) => a + b, 0);
  return {
    method: report.method,
    rows: report.n,
    given: report.given,
    labelled: report.n - unreached,
    rejected: report.rejected,
  };
}

/** The line shown for a run's progress: status, stage, round, shards and elapsed time. */
export function progressLine(view: RunStatusView): string {
  const round = view.round > 0 ? ` round ${view.round}` : '';
  const shards = view.shardsTotal > 0 ? ` ${view.shardsDone}/${view.shardsTotal} shards` : '';
  const elapsed = view.elapsedSeconds === undefined ? '' : `, ${view.elapsedSeconds.toFixed(1)} s`;
  const stalled = view.stalled ? ` (stalled: past its deadline ${view.deadline})` : '';
  return `${view.status}${stalled}: ${view.stage}${round}${shards}${elapsed}`;
}

/** One human line per field. */
export function formatStatus(view: RunStatusView): string {
  const lines = [`run      ${view.runId}`];
  if (view.dataset !== undefined) lines.push(`dataset  ${view.dataset}`);
  const stalled = view.stalled ? ` (stalled: past its deadline ${view.deadline})` : '';
  lines.push(
    `status   ${view.status}${stalled}`,
    `stage    ${view.stage}${view.round > 0 ? ` (round ${view.round})` : ''}`,
  );
  if (view.shardsTotal > 0) lines.push(`shards   ${view.shardsDone}/${view.shardsTotal}`);
  if (view.elapsedSeconds !== undefined) lines.push(`elapsed  ${view.elapsedSeconds} s`);
  if (view.result) {
    const { method, rows, given, labelled, rejected } = view.result;
    lines.push(`result   ${method} labelled ${labelled} of ${rows} rows (${given} given, ${rejected} rejected)`);
  }
  if (view.error) lines.push(`error    ${view.error}`);
  if (view.output) lines.push(`output   ${view.output}`);
  return `${lines.join('\n')}\n`;
}
