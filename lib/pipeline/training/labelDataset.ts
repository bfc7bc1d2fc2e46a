import { UNLABELLED } from '../../data/dataset.ts';
import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import type { Graph } from '../../graph/affinity.ts';
import { buildAffinity } from '../../graph/kernel.ts';
import { UnusableLabelsError } from '../errors.ts';
import { isGraphMethod, type RunOptions } from '../runOptions.ts';
import { coTrain, type MethodResult, propagateOverAffinity } from './methods.ts';

export interface LabelDatasetInput {
  /** The features: needed by every method but propagation over a given `affinity`. */
  readonly X?: FeatureMatrix;
  readonly y: Int32Array;
  readonly classes: readonly string[];
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
  return !(isGraphMethod(options.method) && affinityGiven);
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
 * Runs the chosen method on all rows with every given label. A holdout hides none of them here: its repeated
 * splits ran in the collect step (holdoutRun.ts) and only give the verdict.
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
  const k = classes.length;
  return isGraphMethod(options.method)
    ? propagateOverAffinity(
        input.affinity?.() ??
          buildAffinity(features(), {
            kernel: options.kernel,
            gamma: fixedGamma(options),
            nNeighbors: options.neighbors,
          }),
        y,
        k,
        options,
        warn,
      )
    : coTrain(features(), y, k, options, warn, input.views);
}
