import { UNLABELLED } from '../../data/dataset.ts';
import type { FeatureScaling } from '../../data/featureScaling.ts';
import { hashUniform } from '../../linalg/seededRandom.ts';
import type { RunOptions } from '../runOptions.ts';
import { type Collected, loadShardRows } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { resolveViews } from '../training/coTrainingViews.ts';
import { type AutoSearch, describeChoice, searchGrid } from './autoSearch.ts';

/** Rows `--method auto` runs its candidates on: every given label up to half of it, and a sample of the rest. */
export const AUTO_ROWS = 4000;

/** What `--method auto` resolved to, before any graph is built. */
export interface AutoChoice {
  readonly options: RunOptions;
  readonly reason: string;
  readonly search?: AutoSearch;
}

/**
 * The rows auto scores on, chosen by a hash of the global row index (the same rows for every shard count):
 * the given labels (at most AUTO_ROWS / 2) and unlabelled rows up to AUTO_ROWS in all, so the search costs the
 * same at any n. Returns them unscaled, in row order, as doubles.
 */
export async function sampleRows(ctx: StageContext, runId: string, collected: Collected, y: Int32Array, seed: number) {
  let given = 0;
  for (const label of y) if (label !== UNLABELLED) given++;
  const givenRate = Math.min(1, AUTO_ROWS / 2 / given);
  const keptGiven = Math.min(given, Math.round(givenRate * given));
  const otherRate = Math.min(1, (AUTO_ROWS - keptGiven) / Math.max(1, collected.n - given));
  const rows: number[] = [];
  for (let i = 0; i < collected.n; i++) {
    const rate = y[i] === UNLABELLED ? otherRate : givenRate;
    if (rate >= 1 || hashUniform(seed + 1, i) < rate) rows.push(i);
  }
  const { d } = collected;
  const data = new Float64Array(rows.length * d);
  const sampleY = Int32Array.from(rows, (i) => y[i]);
  let next = 0;
  for (let s = 0; s < collected.shards.length && next < rows.length; s++) {
    const { offset, rows: count } = collected.shards[s];
    if (rows[next] >= offset + count) continue;
    const shard = await loadShardRows(ctx, runId, s, { ...collected, scaling: undefined });
    for (; next < rows.length && rows[next] < offset + count; next++) {
      data.set(shard.X.data.subarray((rows[next] - offset) * d, (rows[next] - offset + 1) * d), next * d);
    }
  }
  return { X: { data, n: rows.length, d }, y: sampleY, rows };
}

/**
 * `--method auto` (collect step, once the labels and the standardising statistics are known): searches the
 * fixed grid (autoSearch.ts) on a sample of rows and returns the options of the best setting, which the run then
 * goes on with as if given. With too few labels to cross-validate: label spreading, scaled when the feature
 * spreads differ by more than 10x.
 */
export async function chooseAuto(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  y: Int32Array,
  standard: FeatureScaling,
  options: RunOptions,
): Promise<AutoChoice> {
  // Every given label: the run publishes labels from all of them (a holdout's splits only give its verdict).
  const sample = await sampleRows(ctx, runId, collected, y, options.seed);
  const views = options.views ? resolveViews(options.views, collected.featureNames).columns : undefined;
  const search = searchGrid(sample.X, sample.y, collected.classes.length, standard, options, views);
  if (search === undefined) {
    const scale = standard.spreadRatio > 10 ? 'standard' : 'none';
    return {
      options: { ...options, method: 'label-spreading', kernel: 'knn', scale },
      reason: `too few given labels for 3-fold cross-validation: label spreading, the default, scale ${scale}`,
    };
  }
  const best = search.chosen;
  return {
    options: {
      ...options,
      method: best.method,
      scale: best.scale,
      ...(best.neighbors !== undefined ? { neighbors: best.neighbors, kernel: 'knn' as const } : {}),
      ...(best.alpha !== undefined ? { alpha: best.alpha } : {}),
    },
    reason: describeChoice(search),
    search,
  };
}
