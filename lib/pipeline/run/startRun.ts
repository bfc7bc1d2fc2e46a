import { randomBytes } from 'node:crypto';
import { InputError } from '../../errors.ts';
import type { HostCapacity } from '../capacity.ts';
import { orderInputsForReuse } from '../incremental/versionIndex.ts';
import { keys } from '../keys.ts';
import type { RunOptions } from '../runOptions.ts';
import type { RunInput } from '../shards/shardPlan.ts';
import type { StageContext } from '../stageContext.ts';
import { taskMessage } from '../taskMessage.ts';
import { type RunRecord, readRun } from './runRecord.ts';

/** A sortable, unique run id: `<dataset>-<UTC timestamp>-<random>`. */
export function newRunId(dataset: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const safe = dataset.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'run';
  return `${safe}-${stamp}-${randomBytes(3).toString('hex')}`;
}

export interface RunRequest {
  readonly runId?: string;
  readonly dataset: string;
  readonly inputRoot: string;
  readonly inputs: RunInput[];
  readonly options: RunOptions;
  /** Where the tasks will run (capacity.ts): the plan step refuses a run that cannot fit it. */
  readonly host?: HostCapacity;
  /** Publish the labels as the next version of the dataset (datasetVersions.ts). */
  readonly versioned?: boolean;
  /** A digest of the run's files and options (datasetRuns.ts contentKeyOf): the version records it. */
  readonly contentKey?: string;
  /** An embedded dataset run's --input and options as asked (RunRecord.request). */
  readonly request?: RunRecord['request'];
}

/**
 * Creates run.json (only if that run does not exist yet: S3 If-None-Match) and enqueues the plan step. Nothing
 * else is needed to start a run in any mode. Starting an existing run again only re-sends its plan step, which
 * is harmless (reduce steps run once), and mends a start that crashed between the two writes.
 */
export async function startRun(ctx: StageContext, request: RunRequest): Promise<RunRecord> {
  if (request.inputs.length === 0) throw new InputError(`dataset ${request.dataset} has no input file`);
  const now = new Date().toISOString();
  // A dataset run numbers the rows of the latest version's unchanged files first, as that version did.
  const inputs = request.versioned
    ? await orderInputsForReuse(ctx.store, request.dataset, request.inputRoot, request.inputs)
    : request.inputs;
  const record: RunRecord = {
    runId: request.runId ?? newRunId(request.dataset),
    dataset: request.dataset,
    inputRoot: request.inputRoot,
    inputs,
    options: request.options,
    status: 'running',
    stage: 'plan',
    round: 0,
    shards: 0,
    createdAt: now,
    updatedAt: now,
    timings: {},
    ...(request.host ? { host: request.host } : {}),
    ...(request.versioned ? { versioned: true } : {}),
    ...(request.contentKey ? { contentKey: request.contentKey } : {}),
    ...(request.request ? { request: request.request } : {}),
  };
  const created = await ctx.store.putIfAbsent(keys.run(record.runId), `${JSON.stringify(record, null, 2)}\n`);
  await ctx.reduce.send(taskMessage(record.runId, 'plan'));
  return created ? record : readRun(ctx.store, record.runId);
}
