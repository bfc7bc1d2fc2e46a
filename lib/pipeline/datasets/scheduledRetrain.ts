import type { HostCapacity } from '../capacity.ts';
import { readJson } from '../jsonObjects.ts';
import type { StageContext } from '../stageContext.ts';
import { INCOMING_PREFIX, OPTIONS_FILE, type RetrainOutcome, retrainDataset } from './datasetRuns.ts';
import { readLatest } from './datasetVersions.ts';

/** A weekly dataset is retrained when its latest version is at least this old (a day's slack for the schedule). */
const WEEK_MS = 6 * 24 * 3600 * 1000;

/** What the schedule did for one dataset. */
export interface ScheduledRetrain {
  readonly dataset: string;
  readonly outcome: RetrainOutcome['kind'] | 'not due' | 'failed';
  readonly runId?: string;
  readonly error?: string;
}

/** Datasets whose incoming/<dataset>/pseudolabel.json exists, with its `retrain` setting (undefined if unreadable). */
async function datasetSettings(ctx: StageContext): Promise<Map<string, unknown>> {
  const settings = new Map<string, unknown>();
  for (const { key } of await ctx.store.list(INCOMING_PREFIX)) {
    const match = /^incoming\/([^/]+)\/pseudolabel\.json$/.exec(key);
    if (!match || key !== `${INCOMING_PREFIX}${match[1]}/${OPTIONS_FILE}`) continue;
    try {
      settings.set(match[1], (await readJson<{ retrain?: unknown }>(ctx.store, key)).retrain);
    } catch {
      settings.set(match[1], undefined); // invalid JSON: retrainDataset would record why; not asked for anyway
    }
  }
  return settings;
}

/**
 * The stack's one schedule (functions/scheduled.ts): retrains every dataset whose pseudolabel.json asks for it
 * (`"retrain": "daily"`, or `"weekly"` once its latest version is six days old), and the datasets `forced` (the
 * stack's `datasets` context), each only when its files or options changed since its latest version
 * (retrainDataset). A dataset that fails (invalid options, say) is reported and the others go on. New datasets
 * need no redeploy: dropping a pseudolabel.json with `retrain` is enough.
 */
export async function retrainScheduled(
  ctx: StageContext,
  inputRoot: string,
  forced: readonly string[] = [],
  host?: HostCapacity,
  now = new Date(),
): Promise<ScheduledRetrain[]> {
  const settings = await datasetSettings(ctx);
  const due: string[] = [];
  const results: ScheduledRetrain[] = [];
  for (const [dataset, retrain] of settings) {
    if (forced.includes(dataset)) continue;
    if (retrain === 'daily') due.push(dataset);
    else if (retrain === 'weekly') {
      const latest = await readLatest(ctx.store, dataset);
      if (latest === undefined || now.getTime() - Date.parse(latest.updatedAt) >= WEEK_MS) due.push(dataset);
      else results.push({ dataset, outcome: 'not due' });
    }
  }
  for (const dataset of [...forced, ...due]) {
    try {
      const outcome = await retrainDataset(ctx, inputRoot, dataset, host);
      results.push({
        dataset,
        outcome: outcome.kind,
        ...(outcome.kind === 'started' ? { runId: outcome.run.runId } : {}),
      });
    } catch (error) {
      results.push({ dataset, outcome: 'failed', error: error instanceof Error ? error.message : String(error) });
    }
  }
  return results;
}
