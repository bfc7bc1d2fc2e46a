import type { FeatureMatrix } from '../data/featureMatrix.ts';
import type { Graph } from '../graph/affinity.ts';
import { buildAffinity } from '../graph/kernel.ts';
import { normalizedLaplacianAffinity } from '../graph/normalizedLaplacian.ts';
import { BaseLabelPropagation, type BasePropagationParams, checkPropagationOptions } from './propagation.ts';

export interface LabelSpreadingParams extends BasePropagationParams {
  /** Clamping factor in the open interval (0, 1): the share of a point's label taken from its neighbours. Default 0.2. */
  readonly alpha?: number;
}

/**
 * Label spreading (Zhou, Bousquet, Lal, Weston & Schoelkopf 2004, "Learning with local and global
 * consistency"), as scikit-learn's `LabelSpreading`: the symmetrically normalised graph S = D^-1/2 W D^-1/2
 * (minus scipy's normed Laplacian, diagonal zeroed) and soft clamping F = alpha S F + (1 - alpha) Y.
 * Defaults: kernel 'rbf', gamma 20, nNeighbors 7, alpha 0.2, maxIter 30, tol 1e-3.
 */
export class LabelSpreading extends BaseLabelPropagation {
  readonly alpha: number;

  constructor(params: LabelSpreadingParams = {}) {
    super(params, 30);
    this.alpha = params.alpha ?? 0.2;
    checkPropagationOptions({ alpha: this.alpha, maxIter: this.maxIter, tol: this.tol });
  }

  protected get clampAlpha(): number {
    return this.alpha;
  }

  /** scikit-learn's `_build_graph`: -laplacian(affinity, normed=True) with a zeroed diagonal. */
  buildGraph(X: FeatureMatrix): Graph {
    return normalizedLaplacianAffinity(buildAffinity(X, this.kernelParams()));
  }
}
