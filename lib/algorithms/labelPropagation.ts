import type { FeatureMatrix } from '../data/featureMatrix.ts';
import type { Graph } from '../graph/affinity.ts';
import { buildAffinity } from '../graph/kernel.ts';
import { rowNormalize } from '../graph/rowNormalize.ts';
import { BaseLabelPropagation, type BasePropagationParams } from './propagation.ts';

/**
 * Label propagation (Zhu & Ghahramani 2002, "Learning from labeled and unlabeled data with label
 * propagation", CMU-CALD-02-107), as scikit-learn's `LabelPropagation`: the row-normalised affinity
 * T = D^-1 W as transition matrix and hard clamping of the labelled rows. Defaults: kernel 'rbf', gamma 20,
 * nNeighbors 7, maxIter 1000, tol 1e-3.
 */
export class LabelPropagation extends BaseLabelPropagation {
  constructor(params: BasePropagationParams = {}) {
    super(params, 1000);
  }

  protected get clampAlpha(): null {
    return null;
  }

  /** scikit-learn's `_build_graph`: the kernel's affinity with every row divided by its sum. */
  buildGraph(X: FeatureMatrix): Graph {
    return rowNormalize(buildAffinity(X, this.kernelParams()));
  }
}
