import { createHash } from 'node:crypto';
import { NotFoundError } from '../../adapters/errors.ts';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import { formatOf } from '../../data/inputFiles.ts';
import { OptionsError } from '../../errors.ts';
import type { HostCapacity } from '../capacity.ts';
import { keys } from '../keys.ts';
import type { RunRecord } from '../run/runRecord.ts';
import { newRunId, startRun } from '../run/startRun.ts';
import { parseRunOptions, type RunOptions } from '../runOptions.ts';
import type { RunInput } from '../shards/shardPlan.ts';
import type { StageContext } from '../stageContext.ts';
import { type LatestVersion, readLatest, readVersion } from './datasetVersions.ts';

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

/** Files under incoming/<dataset>/confirmed/ are corrections (`id,label`), not data. */
export const CONFIRMED_DIR = 'confirmed/';

/** The dataset's data files now (keys, sizes, ETags), corrections under confirmed/ left out. */
async function currentInputs(ctx: StageContext, dataset: string): Promise<RunInput[]> {
  const prefix = `${INCOMING_PREFIX}${dataset}/`;
  const listed = await ctx.store.list(prefix);
  return listed
    .filter((info) => formatOf(info.key) !== undefined && !info.key.startsWith(`${prefix}${CONFIRMED_DIR}`))
    .map(({ key, size, etag }) => ({ key, size, etag }));
}

function safeName(dataset: string): string {
  return dataset.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
}

/**
 * The corrections under incoming/<dataset>/confirmed/ (keys, ETags): part of a run's content, so a new or changed
 * correction starts a run (carriedLabels.ts applies them), and left out of the digest when there are none.
 */
async function currentCorrections(ctx: StageContext, dataset: string): Promise<{ corrections?: RunInput[] }> {
  const listed = await ctx.store.list(`${INCOMING_PREFIX}${dataset}/${CONFIRMED_DIR}`);
  if (listed.length === 0) return {};
  return { corrections: listed.map(({ key, size, etag }) => ({ key, size, etag })) };
}

/** A digest of what a run reads: the same files (keys, ETags) and options give the same key. */
export function contentKeyOf(what: unknown): string {
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

/** The dataset's options (pseudolabel.json); invalid ones record a failed run under `failedRunId` and throw. */
async function currentOptions(
  ctx: StageContext,
  inputRoot: string,
  dataset: string,
  inputs: RunInput[],
  failedRunId: (message: string) => string | undefined,
): Promise<RunOptions> {
  try {
    return parseRunOptions(
      await readOptions(ctx.store, dataset),
      `${INCOMING_PREFIX}${dataset}/${OPTIONS_FILE}`,
      'keys',
    );
  } catch (error) {
    if (error instanceof OptionsError) {
      await recordInvalidOptions(ctx, { runId: failedRunId(error.message), dataset, inputRoot, inputs }, error);
    }
    throw error;
  }
}

/** What a dataset run reads: the data files, the options and the digest of both with the corrections. */
interface DatasetContent {
  readonly inputs: RunInput[];
  readonly options: RunOptions;
  readonly contentKey: string;
}

/** The dataset's content now, from its data files; invalid options record a failed run (currentOptions). */
async function currentContent(
  ctx: StageContext,
  inputRoot: string,
  dataset: string,
  inputs: RunInput[],
  failedRunId: (message: string) => string | undefined,
): Promise<DatasetContent> {
  const options = await currentOptions(ctx, inputRoot, dataset, inputs, failedRunId);
  const contentKey = contentKeyOf({ inputs, options, ...(await currentCorrections(ctx, dataset)) });
  return { inputs, options, contentKey };
}

/** Starts the run of that content which publishes the dataset's next version. */
function startVersionRun(
  ctx: StageContext,
  request: { runId: string | undefined; dataset: string; inputRoot: string },
  content: DatasetContent,
  host: HostCapacity | undefined,
): Promise<RunRecord> {
  return startRun(ctx, { ...request, ...content, ...(host ? { host } : {}), versioned: true });
}

/**
 * Starts a run over every data file now under incoming/<dataset>/ with the options of its pseudolabel.json.
 * With identity 'content' the run id is derived from the files (keys and ETags) and options, so every
 * notification of one burst of uploads names the same run and starts it once; 'new' always starts a fresh run.
 * Returns undefined when the dataset holds no data file yet. The run publishes a dataset version.
 */
export async function startDatasetRun(
  ctx: StageContext,
  inputRoot: string,
  dataset: string,
  identity: RunIdentity,
  host?: HostCapacity,
): Promise<RunRecord | undefined> {
  const inputs = await currentInputs(ctx, dataset);
  if (inputs.length === 0) return undefined;
  const contentId = (what: unknown) =>
    identity === 'content' ? `${safeName(dataset)}-${contentKeyOf(what)}` : undefined;
  const content = await currentContent(ctx, inputRoot, dataset, inputs, (message) =>
    contentId({ inputs, invalid: message }),
  );
  // Identity 'content': the run is named by the content's digest, so one burst of uploads names one run.
  const runId = identity === 'content' ? `${safeName(dataset)}-${content.contentKey}` : undefined;
  return startVersionRun(ctx, { runId, dataset, inputRoot }, content, host);
}

/** What `retrain` did: started (or found started) a run, found nothing changed, or found no data file. */
export type RetrainOutcome =
  | { readonly kind: 'started'; readonly run: RunRecord }
  | { readonly kind: 'unchanged'; readonly latest: LatestVersion }
  | { readonly kind: 'empty' };

/**
 * Retrains a dataset (`pseudolabel retrain`, the schedule): when the latest version was made from the same files
 * (keys, ETags) and options (its version.json contentKey), starts nothing. Otherwise starts a run whose id is
 * derived from the files, options and the latest version number: a retried or repeated invocation before that
 * run publishes names the same run and cannot start a second one; once it has published, the next change starts
 * the next run.
 */
export async function retrainDataset(
  ctx: StageContext,
  inputRoot: string,
  dataset: string,
  host?: HostCapacity,
): Promise<RetrainOutcome> {
  const inputs = await currentInputs(ctx, dataset);
  if (inputs.length === 0) return { kind: 'empty' };
  const latest = await readLatest(ctx.store, dataset);
  const after = latest ? `-after${latest.version}` : '';
  const failedId = (message: string) => `${safeName(dataset)}-${contentKeyOf({ inputs, invalid: message })}${after}`;
  const content = await currentContent(ctx, inputRoot, dataset, inputs, failedId);
  if (latest) {
    const version = await readVersion(ctx.store, dataset, latest.version);
    if (version.contentKey === content.contentKey) return { kind: 'unchanged', latest };
  }
  const runId = `${safeName(dataset)}-${content.contentKey}${after}`;
  const run = await startVersionRun(ctx, { runId, dataset, inputRoot }, content, host);
  return { kind: 'started', run };
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
  if (await ctx.store.putIfAbsent(keys.run(record.runId), `${JSON.stringify(record, null, 2)}\n`))
    ctx.runEnded?.(record);
}
