import { UNLABELLED } from '../data/dataset.ts';
import { type FeatureMatrix, selectColumns, selectRows } from '../data/featureMatrix.ts';
import { argmaxRow } from '../linalg/argmaxRow.ts';
import { type Classifier, type ClassifierFactory, processWarning, type WarningSink } from './classifier.ts';
import { NotFittedError } from './errors.ts';
import { checkLabels, gather, mostConfident, rowsWhere, type TerminationCondition } from './selfTraining.ts';
import { SoftmaxRegression } from './softmaxRegression.ts';

/** Who labelled a point (`labeledBy`). */
export const LABELLED_BY = { none: -1, given: 0, viewA: 1, viewB: 2, both: 3 } as const;

export interface CoTrainingOptions {
  /** Column indices of the two views. Default: the first floor(d/2) columns, and the rest. */
  readonly views?: readonly [readonly number[], readonly number[]];
  /** A view's prediction must be strictly more probable than this to be proposed, in [0, 1), or null. Default 0.75. */
  readonly threshold?: number | null;
  /** At most this many proposals per class per view per round (Blum & Mitchell's p and n), or null. Default 10. */
  readonly perClass?: number | null;
  /** Maximum rounds, integer >= 0, or null for no limit. Default 30 (Blum & Mitchell's experiments). */
  readonly maxIter?: number | null;
  /** One factory for both views, or one per view. Default: SoftmaxRegression (LogisticRegression's defaults). */
  readonly classifier?: ClassifierFactory | readonly [ClassifierFactory, ClassifierFactory];
  /** How predict/predictProba combine the views. Default 'product'. */
  readonly combine?: 'product' | 'mean';
  readonly onWarning?: WarningSink;
}

/**
 * Co-training (Blum & Mitchell 1998, "Combining labeled and unlabeled data with co-training"): two classifiers, each
 * seeing one view (a subset of the columns) of the points. Each round both are fitted on the shared labelled set;
 * each then proposes, for the other, its most confident predictions on the unlabelled points: per class, the
 * `perClass` most probable ones above `threshold` (Blum & Mitchell add p positives and n negatives per round). The
 * proposals join the shared labelled set (when both views propose the same point with different classes, the more
 * confident view wins, view A on a tie). Rounds stop after `maxIter`, when no point is proposed, or when all are
 * labelled; both classifiers are then fitted on the final labelled set.
 *
 * Deviation: Blum & Mitchell draw proposals from a random pool U' of 75 unlabelled points; here every unlabelled
 * point is a candidate, which makes the result deterministic and independent of a seed.
 *
 * Prediction: `product` multiplies the two views' class probabilities and renormalises (the combined classifier of
 * Blum & Mitchell, which treats the views as conditionally independent given the class); `mean` averages them.
 */
export class CoTraining {
  readonly threshold: number | null;
  readonly perClass: number | null;
  readonly maxIter: number | null;
  readonly combine: 'product' | 'mean';
  private readonly viewOption: readonly [readonly number[], readonly number[]] | undefined;
  private readonly factories: readonly [ClassifierFactory, ClassifierFactory];
  private readonly onWarning: WarningSink;

  /** The columns of each view used in the last fit. */
  views: [number[], number[]] = [[], []];
  /** Given labels plus the labels added by co-training; UNLABELLED where none was added. */
  transduction: Int32Array = new Int32Array(0);
  /** 0 for a given label, r for a label added in round r, -1 for a point never labelled. */
  labeledIter: Int32Array = new Int32Array(0);
  /** LABELLED_BY: -1 never, 0 given, 1 proposed by view A, 2 by view B, 3 by both with the same class. */
  labeledBy: Int8Array = new Int8Array(0);
  nIter = 0;
  terminationCondition: TerminationCondition = 'max_iter';
  /** Labels added in each round (added[r-1] for round r). */
  added: number[] = [];
  private models: [Classifier, Classifier] | undefined;

  constructor(options: CoTrainingOptions = {}) {
    const { threshold = 0.75, perClass = 10, maxIter = 30, combine = 'product' } = options;
    if (threshold !== null && !(threshold >= 0 && threshold < 1)) {
      throw new RangeError(`threshold must be in [0, 1) or null, got ${threshold}`);
    }
    if (perClass !== null && (!Number.isInteger(perClass) || perClass < 1)) {
      throw new RangeError(`perClass must be an integer >= 1 or null, got ${perClass}`);
    }
    if (maxIter !== null && (!Number.isInteger(maxIter) || maxIter < 0)) {
      throw new RangeError(`maxIter must be an integer >= 0 or null, got ${maxIter}`);
    }
    if (combine !== 'product' && combine !== 'mean') {
      throw new RangeError(`combine must be 'product' or 'mean', got '${combine}'`);
    }
    this.threshold = threshold;
    this.perClass = perClass;
    this.maxIter = maxIter;
    this.combine = combine;
    this.viewOption = options.views;
    this.onWarning = options.onWarning ?? processWarning;
    const defaultFactory = () => new SoftmaxRegression({ onWarning: this.onWarning });
    const c = options.classifier ?? defaultFactory;
    this.factories = typeof c === 'function' ? [c, c] : [c[0], c[1]];
  }

  /** The two fitted classifiers, on view A and view B. */
  get estimators(): readonly [Classifier, Classifier] {
    if (this.models === undefined) throw new NotFittedError('CoTraining');
    return this.models;
  }

  get classes(): Int32Array {
    return this.estimators[0].classes;
  }

  /** Fits on X with labels y, UNLABELLED (-1) marking the unlabelled points. */
  fit(X: FeatureMatrix, y: Int32Array): this {
    const n = X.n;
    checkLabels(y, n);
    const views = resolveViews(this.viewOption, X.d);
    const viewX = [selectColumns(X, views[0]), selectColumns(X, views[1])] as const;
    const transduction = Int32Array.from(y);
    const labeledIter = new Int32Array(n).fill(-1);
    const labeledBy = new Int8Array(n).fill(LABELLED_BY.none);
    let nLabelled = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] !== UNLABELLED) {
        labeledIter[i] = 0;
        labeledBy[i] = LABELLED_BY.given;
        nLabelled++;
      }
    }
    if (nLabelled === n) this.onWarning('y contains no unlabeled samples');

    const models: [Classifier, Classifier] = [this.factories[0](), this.factories[1]()];
    const added: number[] = [];
    let nIter = 0;
    let termination: TerminationCondition | undefined;
    let fittedOnFinalSet = false;
    while (nLabelled < n && (this.maxIter === null || nIter < this.maxIter)) {
      nIter++;
      const labelled = rowsWhere(labeledIter, true);
      const labels = gather(transduction, labelled);
      const unlabelled = rowsWhere(labeledIter, false);
      const proposals = [0, 1].map((v) => {
        const model = models[v];
        model.fit(selectRows(viewX[v], labelled), labels);
        return this.propose(model, model.predictProba(selectRows(viewX[v], unlabelled)));
      });
      const [a, b] = proposals;
      let count = 0;
      for (let s = 0; s < unlabelled.length; s++) {
        const ca = a.cls[s];
        const cb = b.cls[s];
        if (ca < 0 && cb < 0) continue;
        const i = unlabelled[s];
        if (ca >= 0 && cb >= 0 && ca === cb) {
          transduction[i] = models[0].classes[ca];
          labeledBy[i] = LABELLED_BY.both;
        } else if (ca >= 0 && (cb < 0 || a.confidence[s] >= b.confidence[s])) {
          transduction[i] = models[0].classes[ca];
          labeledBy[i] = LABELLED_BY.viewA;
        } else {
          transduction[i] = models[1].classes[cb];
          labeledBy[i] = LABELLED_BY.viewB;
        }
        labeledIter[i] = nIter;
        count++;
      }
      nLabelled += count;
      added.push(count);
      if (count === 0) {
        termination = 'no_change';
        fittedOnFinalSet = true;
        break;
      }
    }
    if (nIter === this.maxIter) termination = 'max_iter';
    if (nLabelled === n) termination = 'all_labeled';
    if (!fittedOnFinalSet) {
      const labelled = rowsWhere(labeledIter, true);
      const labels = gather(transduction, labelled);
      for (const v of [0, 1]) models[v].fit(selectRows(viewX[v], labelled), labels);
    }

    this.views = views;
    this.transduction = transduction;
    this.labeledIter = labeledIter;
    this.labeledBy = labeledBy;
    this.nIter = nIter;
    this.terminationCondition = termination ?? 'max_iter';
    this.added = added;
    this.models = models;
    return this;
  }

  /** Class probabilities of one view's classifier (0 = view A, 1 = view B), n x k. */
  viewProba(X: FeatureMatrix, view: 0 | 1): Float64Array {
    const model = this.estimators[view];
    return model.predictProba(selectColumns(X, this.views[view]));
  }

  /** The views' probabilities combined by `combine`, n x k, rows summing to 1. */
  predictProba(X: FeatureMatrix): Float64Array {
    const pa = this.viewProba(X, 0);
    const pb = this.viewProba(X, 1);
    const k = this.classes.length;
    const out = new Float64Array(pa.length);
    for (let i = 0; i < X.n; i++) {
      const base = i * k;
      let sum = 0;
      if (this.combine === 'product') {
        for (let c = 0; c < k; c++) {
          out[base + c] = pa[base + c] * pb[base + c];
          sum += out[base + c];
        }
      }
      if (!(sum > 0)) {
        // 'mean', or a product that underflowed to 0 everywhere (the views flatly disagree).
        sum = 0;
        for (let c = 0; c < k; c++) {
          out[base + c] = (pa[base + c] + pb[base + c]) / 2;
          sum += out[base + c];
        }
      }
      for (let c = 0; c < k; c++) out[base + c] /= sum;
    }
    return out;
  }

  predict(X: FeatureMatrix): Int32Array {
    const p = this.predictProba(X);
    const classes = this.classes;
    const out = new Int32Array(X.n);
    for (let i = 0; i < X.n; i++) out[i] = classes[argmaxRow(p, i, classes.length)];
    return out;
  }

  /** One view's proposals: per unlabelled point, the proposed class index (-1 for none) and its probability. */
  private propose(model: Classifier, proba: Float64Array): { cls: Int32Array; confidence: Float64Array } {
    const k = model.classes.length;
    const m = proba.length / k;
    const cls = new Int32Array(m).fill(-1);
    const confidence = new Float64Array(m);
    const byClass: number[][] = Array.from({ length: k }, () => []);
    for (let s = 0; s < m; s++) {
      const c = argmaxRow(proba, s, k);
      confidence[s] = proba[s * k + c];
      if (this.threshold === null || confidence[s] > this.threshold) byClass[c].push(s);
    }
    for (let c = 0; c < k; c++) {
      const candidates = Int32Array.from(byClass[c]);
      const chosen = this.perClass === null ? candidates : mostConfident(candidates, confidence, this.perClass);
      for (const s of chosen) cls[s] = c;
    }
    return { cls, confidence };
  }
}

/** Checks the views, or splits the columns in halves when none are given. */
function resolveViews(
  views: readonly [readonly number[], readonly number[]] | undefined,
  d: number,
): [number[], number[]] {
  if (views === undefined) {
    if (d < 2) throw new RangeError(`co-training needs at least 2 feature columns to split into views, got ${d}`);
    const half = Math.floor(d / 2);
    return [Array.from({ length: half }, (_, j) => j), Array.from({ length: d - half }, (_, j) => half + j)];
  }
  if (views.length !== 2) throw new RangeError(`co-training needs exactly 2 views, got ${views.length}`);
  return [checkView(views[0], d, 'A'), checkView(views[1], d, 'B')];
}

function checkView(view: readonly number[], d: number, name: string): number[] {
  if (view.length === 0) throw new RangeError(`view ${name} has no columns`);
  for (const j of view) {
    if (!Number.isInteger(j) || j < 0 || j >= d) {
      throw new RangeError(`view ${name} has column ${j}, outside the ${d} feature columns`);
    }
  }
  if (new Set(view).size !== view.length) throw new RangeError(`view ${name} repeats a column`);
  return [...view];
}
