import { SelfTraining } from '../../algorithms/selfTraining.ts';
import { scaleInPlace } from '../../data/featureScaling.ts';
import { copyGraph } from '../../graph/affinity.ts';
import { buildAffinity } from '../../graph/kernel.ts';
import { knnSelfSearch } from '../../graph/knnSearch.ts';
import { medianHeuristicGamma, usesGamma } from '../propagation/unreached.ts';
import { effectiveMaxIter, effectiveThreshold, type RunOptions } from '../runOptions.ts';
import type { Collected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { resolveViews } from '../training/coTrainingViews.ts';
import { coTrain, propagateOverAffinity } from '../training/methods.ts';
import { sampleRows } from './autoChoice.ts';
import { type HoldoutMetrics, repeatedHoldout, type SplitPredictor } from './holdout.ts';

/** report.json `holdout`: the repeated-split comparison, the fraction asked for and the rows it ran on. */
export type RunHoldout = HoldoutMetrics & { readonly fraction: number; readonly rows: number };

/**
 * `--holdout` (collect step, once the method is known): the repeated-split comparison (holdout.ts) of the run's
 * method and options against softmax regression, on the rows `--method auto` scores on (every given label up to
 * AUTO_ROWS / 2 and a sample of the rest), features scaled as the run scales them, so its cost is bounded at
 * any n. The run itself then labels all rows with split 0's labels hidden (DESIGN.md section 4).
 */
export async function holdoutOfRun(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  y: Int32Array,
  options: RunOptions,
  warn: (message: string) => void,
  origins?: Uint8Array,
): Promise<RunHoldout> {
  const sample = await sampleRows(ctx, runId, collected, y, options.seed);
  const sampleOrigins = origins ? Uint8Array.from(sample.rows, (i) => origins[i]) : undefined;
  const X = sample.X;
  if (collected.scaling && collected.scaling.method !== 'none') scaleInPlace(X.data, X.d, collected.scaling);
  const k = collected.classes.length;
  const metrics = repeatedHoldout(
    X,
    sample.y,
    options.holdout,
    options.seed,
    predictorOf(X, k, options, collected),
    warn,
    undefined,
    sampleOrigins,
  );
  return { ...metrics, fraction: options.holdout, rows: X.n };
}

/** The run's method as a predictor over the sampled rows (a graph is built once, for every split). */
function predictorOf(
  X: Parameters<typeof buildAffinity>[0],
  k: number,
  options: RunOptions,
  collected: Collected,
): SplitPredictor {
  const quiet = () => {};
  if (options.method === 'self-training') {
    return (trainingY) =>
      new SelfTraining({
        threshold: effectiveThreshold(options),
        criterion: options.criterion,
        kBest: options.kBest,
        maxIter: effectiveMaxIter(options),
        onWarning: quiet,
      })
        .fit(X, trainingY)
        .predict(X);
  }
  if (options.method === 'co-training') {
    const views = resolveViews(options.views, collected.featureNames).columns;
    return (trainingY) => coTrain(X, trainingY, k, options, quiet, views).outcome.label;
  }
  const nNeighbors = Math.min(options.neighbors, X.n - 1);
  const gamma =
    usesGamma(options) && options.gamma === 'auto'
      ? medianHeuristicGamma(knnSelfSearch(X, nNeighbors))
      : (options.gamma as number);
  const graph = buildAffinity(X, { kernel: options.kernel, gamma, nNeighbors });
  // A copy per split: the graph transforms work in place.
  return (trainingY) => propagateOverAffinity(copyGraph(graph), trainingY, k, options, quiet).outcome.label;
}
