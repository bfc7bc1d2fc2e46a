/**
 * Classification metrics with scikit-learn's semantics (sklearn.metrics): labels are integer class codes, and the
 * label set defaults to the sorted union of the classes in yTrue and yPred.
 */

type Labels = ArrayLike<number>;

/** Fraction of positions where yPred equals yTrue (accuracy_score). */
export function accuracy(yTrue: Labels, yPred: Labels): number {
  checkPair(yTrue, yPred);
  let hits = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hits++;
  return hits / yTrue.length;
}

/** A k x k count matrix: rows are the true classes, columns the predicted ones, both in `labels` order. */
export interface ConfusionMatrix {
  readonly labels: number[];
  readonly matrix: number[][];
}

/**
 * confusion_matrix: matrix[i][j] counts the points of true class labels[i] predicted as labels[j]. Pairs with a label
 * outside `labels` are left out, as scikit-learn does.
 */
export function confusionMatrix(yTrue: Labels, yPred: Labels, labels?: Labels): ConfusionMatrix {
  checkPair(yTrue, yPred);
  const classes = labels === undefined ? unionSorted(yTrue, yPred) : checkLabelList(labels);
  const index = new Map<number, number>();
  classes.forEach((c, j) => {
    index.set(c, j);
  });
  const matrix = classes.map(() => new Array<number>(classes.length).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]);
    const p = index.get(yPred[i]);
    if (t !== undefined && p !== undefined) matrix[t][p]++;
  }
  return { labels: classes, matrix };
}

export interface F1Options {
  /** Classes to average over; default the sorted union of yTrue and yPred. */
  readonly labels?: Labels;
  /** F1 of a class with no true and no predicted point (scikit-learn's zero_division). Default 0. */
  readonly zeroDivision?: number;
}

/** Per-class F1 = 2 TP / (2 TP + FP + FN), in `labels` order (f1_score(average=None)). */
export function f1PerClass(yTrue: Labels, yPred: Labels, options: F1Options = {}): { labels: number[]; f1: number[] } {
  checkPair(yTrue, yPred);
  const { zeroDivision = 0 } = options;
  if (!Number.isFinite(zeroDivision) || zeroDivision < 0 || zeroDivision > 1) {
    throw new RangeError(`zeroDivision must be in [0, 1], got ${zeroDivision}`);
  }
  const labels = options.labels === undefined ? unionSorted(yTrue, yPred) : checkLabelList(options.labels);
  const index = new Map<number, number>();
  labels.forEach((c, j) => {
    index.set(c, j);
  });
  const tp = new Float64Array(labels.length);
  const fp = new Float64Array(labels.length);
  const fn = new Float64Array(labels.length);
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]);
    const p = index.get(yPred[i]);
    if (yTrue[i] === yPred[i]) {
      if (t !== undefined) tp[t]++;
    } else {
      if (p !== undefined) fp[p]++;
      if (t !== undefined) fn[t]++;
    }
  }
  const f1 = labels.map((_, j) => {
    const denominator = 2 * tp[j] + fp[j] + fn[j];
    return denominator === 0 ? zeroDivision : (2 * tp[j]) / denominator;
  });
  return { labels, f1 };
}

/**
 * Unweighted mean of the per-class F1 scores (f1_score(average='macro')). A class that is never predicted scores 0
 * (its precision is undefined, and scikit-learn's F1 formula then gives 2*0 / (FN) = 0); a class absent from both
 * yTrue and yPred (only possible through `labels`) scores `zeroDivision`.
 */
export function macroF1(yTrue: Labels, yPred: Labels, options: F1Options = {}): number {
  const { f1 } = f1PerClass(yTrue, yPred, options);
  if (f1.length === 0) return options.zeroDivision ?? 0;
  let sum = 0;
  for (const v of f1) sum += v;
  return sum / f1.length;
}

function checkPair(yTrue: Labels, yPred: Labels): void {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`yTrue and yPred differ in length: ${yTrue.length} vs ${yPred.length}`);
  }
  if (yTrue.length === 0) throw new RangeError('metrics need at least one point');
}

function unionSorted(a: Labels, b: Labels): number[] {
  const set = new Set<number>();
  for (let i = 0; i < a.length; i++) set.add(a[i]);
  for (let i = 0; i < b.length; i++) set.add(b[i]);
  return [...set].sort((x, y) => x - y);
}

function checkLabelList(labels: Labels): number[] {
  const list = Array.from(labels);
  if (list.length === 0) throw new RangeError('labels must not be empty');
  if (new Set(list).size !== list.length) throw new RangeError('labels must not repeat a class');
  return list;
}
