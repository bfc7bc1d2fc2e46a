import { CoTraining } from '../../algorithms/coTraining.ts';
import { propagateLabels } from '../../algorithms/propagation.ts';
import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { OptionsError } from '../../errors.ts';
import type { Graph } from '../../graph/affinity.ts';
import {
  outcomeFromDistributions,
  outcomeFromRounds,
  probabilitiesOverAllClasses,
  type RowOutcome,
} from '../outputs/rowOutcome.ts';
import type { RunReport } from '../outputs/runReport.ts';
import { effectiveMaxIter, effectiveThreshold, type RunOptions } from '../runOptions.ts';

/** What a method reports about its iterations (report.json `convergence`). */
export interface Convergence {
  readonly nIter: number;
  readonly converged: boolean;
  readonly terminationReason: string;
  readonly finalDelta: number | null;
  readonly deltas: number[];
}

/** runs/<runId>/result.json: what the method reports besides the per-row outcome (per-shard result.bin parts). */
export interface MethodSummary {
  readonly convergence: Convergence;
  readonly unreached?: RunReport['unreached'];
  readonly gamma?: RunReport['gamma'];
  readonly views?: RunReport['views'];
  readonly warnings: string[];
}

export interface MethodResult {
  readonly outcome: RowOutcome;
  readonly convergence: Convergence;
  /** Final class probabilities of every row (n x k), used for holdout scoring and confidence histograms. */
  readonly probabilities: Float64Array;
}

/**
 * Label propagation or spreading over an affinity graph built from the data (knn connectivity, dense rbf or
 * rbf weights on knn edges), with scikit-learn's graph transforms: row normalisation for propagation,
 * the symmetric normalised Laplacian for spreading (see LabelPropagation / LabelSpreading). The transforms work in
 * place: the affinity is used up (propagate over a copy, copyGraph, to reuse it).
 */
export function propagateOverAffinity(
  affinity: Graph,
  y: Int32Array,
  k: number,
  options: RunOptions,
  warn: (message: string) => void,
): MethodResult {
  const spreading = options.method === 'label-spreading';
  const maxIter = effectiveMaxIter(options);
  const result = propagateLabels(
    affinity,
    y,
    k,
    { alpha: spreading ? options.alpha : null, maxIter, tol: options.tol },
    spreading ? 'normalized-laplacian' : 'row-normalize',
  );
  if (!result.converged)
    warn(`label ${spreading ? 'spreading' : 'propagation'} did not converge in maxIter=${maxIter}`);
  return {
    outcome: outcomeFromDistributions(y, result.distributions, k),
    probabilities: result.distributions,
    convergence: {
      nIter: result.nIter,
      converged: result.converged,
      terminationReason: result.converged ? 'converged' : 'max_iter',
      finalDelta: result.deltas.length > 0 ? result.deltas[result.deltas.length - 1] : null,
      deltas: result.deltas,
    },
  };
}

/**
 * Co-training (Blum & Mitchell 1998) in one process (the reduce step): the views given (--views, column indices
 * here) or the two halves of the columns; max_iter rounds (default 30), a proposal needs a probability above
 * the threshold (default 0.75, CoTraining's) and each view proposes at most `perClass` rows per class per round
 * (Blum & Mitchell's p and n; default 10). A round that proposes nothing ends the run with a warning: the
 * threshold is likely too high. Self-training runs distributed instead (stages/selfTrainingFit.ts).
 */
export function coTrain(
  X: FeatureMatrix,
  y: Int32Array,
  k: number,
  options: RunOptions,
  warn: (message: string) => void,
  views?: readonly [readonly number[], readonly number[]],
): MethodResult {
  if (X.d < 2) {
    throw new OptionsError(
      `method co-training splits the feature columns into two views and needs at least 2, got ${X.d}: choose another --method`,
    );
  }
  const threshold = effectiveThreshold(options);
  const model = new CoTraining({
    threshold,
    maxIter: effectiveMaxIter(options),
    ...(options.perClass !== undefined ? { perClass: options.perClass } : {}),
    ...(views ? { views } : {}),
    onWarning: warn,
  });
  model.fit(X, y);
  if (model.terminationCondition === 'no_change') {
    warn(
      `co-training round ${model.nIter} proposed no row: neither view predicted an unlabelled row above --threshold ${threshold}` +
        (model.nIter === 1 ? ' (nothing was added; try a lower --threshold)' : ''),
    );
  }
  // The base models only know the classes they were fitted on.
  const full = probabilitiesOverAllClasses(model.predictProba(X), model.classes, k);
  return {
    outcome: outcomeFromRounds(y, model.labeledIter, model.transduction, full, k),
    probabilities: full,
    convergence: {
      nIter: model.nIter,
      converged: model.terminationCondition !== 'max_iter',
      terminationReason: model.terminationCondition,
      finalDelta: null,
      deltas: [],
    },
  };
}
