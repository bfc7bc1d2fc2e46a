import { createHash } from 'node:crypto';
import { NotFoundError } from '../adapters/errors.ts';
import type { ObjectStore } from '../adapters/objectStore.ts';
import { formatOf } from '../data/inputFiles.ts';
import { OptionsError } from '../errors.ts';
import type { HostCapacity } from './capacity.ts';
import { keys } from './keys.ts';
import { parseRunOptions, type RunOptions } from './runOptions.ts';
import type { RunInput, RunRecord } from './runRecord.ts';
import type { StageContext } from './stageContext.ts';
import { newRunId, startRun } from './startRun.ts';

/** Where users drop data: incoming/<dataset>/...; pseudolabel.json beside the data holds the run options. */
export const INCOMING_PREFIX = 'incoming/';
export const OPTIONS_FILE = 'pseudolabel.json';

/** The dataset an incoming key belongs to, or undefined for keys outside incoming/<dataset>/. */
export function datasetOfKey(key: string): string | undefined {
  const match = /^incoming\/([^/]+)\/./.exec(key);
  return match?.[1];
}

async function readOptions(store: ObjectStore, dataset: string): Promise<unknown> {
  const key = `${INCOMING_PREFIX}${dataset}/${OPTIONS_FILE}`;
  try {
    const text = new TextDecoder().decode(await store.get(key));
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new OptionsError(`${store.describe(key)} is not JSON: ${error instanceof Error ? error.message : error}`);
    }
  } catch (error) {
    if (error instanceof NotFoundError) return {};
    throw error;
  }
}

export type RunIdentity = 'content' | 'new';

/**
 * Starts a run over every data file now under incoming/<dataset>/ with the options of its pseudolabel.json.
 * With identity 'content' the run id is derived from the files (keys and ETags) and options, so every
 * notification of one burst of uploads names the same run and starts it once; 'new' always starts a fresh run
 * (scheduled retraining). Returns undefined when the dataset holds no data file yet.
 */
export async function startDatasetRun(
  ctx: StageContext,
  inputRoot: string,
  dataset: string,
  identity: RunIdentity,
  host?: HostCapacity,
): Promise<RunRecord | undefined> {
  const listed = await ctx.store.list(`${INCOMING_PREFIX}${dataset}/`);
  const inputs: RunInput[] = listed
    .filter((info) => formatOf(info.key) !== undefined)
    .map(({ key, size, etag }) => ({ key, size, etag }));
  if (inputs.length === 0) return undefined;
  const safe = dataset.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  const contentId = (what: unknown) =>
    identity === 'content'
      ? `${safe}-${createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16)}`
      : undefined;
  let options: RunOptions;
  try {
    options = parseRunOptions(
      await readOptions(ctx.store, dataset),
      `${INCOMING_PREFIX}${dataset}/${OPTIONS_FILE}`,
      'keys',
    );
  } catch (error) {
    if (error instanceof OptionsError) {
      await recordInvalidOptions(
        ctx,
        { runId: contentId({ inputs, invalid: error.message }), dataset, inputRoot, inputs },
        error,
      );
    }
    throw error;
  }
  return startRun(ctx, {
    runId: contentId({ inputs, options }),
    dataset,
    inputRoot,
    inputs,
    options,
    ...(host ? { host } : {}),
    versioned: true,
  });
}

/**
 * Options that fail validation start no run, but the user who dropped the files must see why: a failed run
 * record (runs/<runId>/run.json: the dataset, its files, and the message naming pseudolabel.json and each invalid
 * option) is written, put-if-absent so that every notification of one upload records it once. `status --store`
 * shows it; the handler's metric makes the alarm fire.
 */
async function recordInvalidOptions(
  ctx: StageContext,
  request: { runId?: string; dataset: string; inputRoot: string; inputs: RunInput[] },
  error: OptionsError,
): Promise<void> {
  const now = new Date().toISOString();
  const record: RunRecord = {
    runId: request.runId ?? newRunId(request.dataset),
    dataset: request.dataset,
    inputRoot: request.inputRoot,
    inputs: request.inputs,
    options: {} as RunOptions, // none valid: the error says which
    status: 'failed',
    stage: 'plan',
    round: 0,
    shards: 0,
    createdAt: now,
    updatedAt: now,
    finishedAt: now,
    error: error.message,
    timings: {},
  };
  await ctx.store.putIfAbsent(keys.run(record.runId), `${JSON.stringify(record, null, 2)}\n`);
}
