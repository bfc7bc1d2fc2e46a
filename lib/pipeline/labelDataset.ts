import { UNLABELLED } from '../data/dataset.ts';
import type { FeatureMatrix } from '../data/featureMatrix.ts';
import type { Graph } from '../graph/affinity.ts';
import { buildAffinity } from '../graph/kernel.ts';
import { UnusableLabelsError } from './errors.ts';
import { hideLabels, restoreHeldOut, stratifiedHoldout } from './holdout.ts';
import { coTrain, type MethodResult, propagateOverAffinity } from './methods.ts';
import type { RunOptions } from './runOptions.ts';

export interface LabelDatasetInput {
  /** The features: needed by every method but propagation over a given `affinity`, and by the holdout. */
  readonly X?: FeatureMatrix;
  readonly y: Int32Array;
  readonly classes: readonly string[];
  /** Where each row's label came from (carriedLabels.ts ORIGIN): only the user's own can be held out. */
  readonly origins?: Uint8Array;
  /** Names the data in error messages (the input path or run id). */
  readonly source: string;
  /**
   * The affinity graph for propagation methods. Default: built from X with the chosen kernel; the sharded
   * pipeline passes the graph it assembled from the neighbors stage instead.
   */
  readonly affinity?: () => Graph;
  /** Co-training's views (column indices); default the two halves of the columns. */
  readonly views?: readonly [readonly number[], readonly number[]];
}

export type LabelDatasetResult = MethodResult;

/** The rbf width, which the caller resolves from `auto` (propagate stage) before the graph is built. */
function fixedGamma(options: RunOptions): number {
  if (options.gamma === 'auto') throw new Error('gamma auto must be resolved before the graph is built');
  return options.gamma;
}

/** Whether labelDataset reads the features for these options (see LabelDatasetInput.X). */
export function needsFeatures(options: RunOptions, affinityGiven: boolean): boolean {
  const propagation = options.method === 'label-spreading' || options.method === 'label-propagation';
  return !(propagation && affinityGiven);
}

/** Refuses inputs no method can learn from, with the reason. */
export function checkGivenLabels(y: Int32Array, classes: readonly string[], source: string): void {
  const present = new Set<number>();
  for (let i = 0; i < y.length; i++) if (y[i] !== UNLABELLED) present.add(y[i]);
  if (present.size === 0)
    throw new UnusableLabelsError(source, 'no row has a label: give at least one label per class');
  if (present.size === 1) {
    throw new UnusableLabelsError(
      source,
      `every given label is "${classes[[...present][0]]}": at least two classes are needed to learn anything`,
    );
  }
}

/**
 * Runs the chosen method on all rows. With a holdout, split 0's share of the given labels is hidden first (the
 * comparison itself ran in the collect step, holdoutRun.ts); the outcome reports those rows as given.
 */
export function labelDataset(
  input: LabelDatasetInput,
  options: RunOptions,
  warn: (message: string) => void,
): LabelDatasetResult {
  const { y, classes, source } = input;
  checkGivenLabels(y, classes, source);
  const features = (): FeatureMatrix => {
    if (!input.X) throw new Error(`labelDataset needs the features of ${source} for ${options.method}`);
    return input.X;
  };
  const held =
    options.holdout > 0 ? stratifiedHoldout(y, options.holdout, options.seed, input.origins) : new Int32Array(0);
  const trainingY = held.length > 0 ? hideLabels(y, held) : y;
  const k = classes.length;

  const result =
    options.method === 'label-spreading' || options.method === 'label-propagation'
      ? propagateOverAffinity(
          input.affinity?.() ??
            buildAffinity(features(), {
              kernel: options.kernel,
              gamma: fixedGamma(options),
              nNeighbors: options.neighbors,
            }),
          trainingY,
          k,
          options,
          warn,
        )
      : coTrain(features(), trainingY, k, options, warn, input.views);
  if (held.length > 0) restoreHeldOut(result.outcome, y, held, result.probabilities, k);
  return result;
}
