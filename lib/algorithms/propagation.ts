import { availableParallelism } from 'node:os';
import { UNLABELLED } from '../data/dataset.ts';
import type { FeatureMatrix } from '../data/featureMatrix.ts';
import { type AffinityOperator, affinityOperator, type Graph, isCsr } from '../graph/affinity.ts';
import type { CsrGraph } from '../graph/csrGraph.ts';
import { checkKernelParams, inductiveProduct, type KernelName, type KernelParams } from '../graph/kernel.ts';
import { LOCALITY_FROM_ROWS, renumberBreadthFirst } from '../graph/localityOrder.ts';
import { inDegrees, normalizedLaplacianAffinity } from '../graph/normalizedLaplacian.ts';
import { PARALLEL_PRODUCT_FROM_ROWS, ParallelCsrProduct } from '../graph/parallelCsrProduct.ts';
import type { DenseKernelLimits } from '../graph/rbfKernel.ts';
import { rowNormalize } from '../graph/rowNormalize.ts';
import { argmaxRow } from '../linalg/argmaxRow.ts';
import {
  ConvergenceWarning,
  emitProcessWarning,
  NoLabelledSamplesError,
  NotFittedError,
  type WarningHandler,
} from './errors.ts';

/**
 * The iteration shared by label propagation (Zhu & Ghahramani 2002) and label spreading (Zhou et al. 2004),
 * over a prebuilt graph, following scikit-learn's `BaseLabelPropagation.fit` step for step:
 *
 *   F0 = one-hot rows of the labelled points, 0 elsewhere; F_prev = 0
 *   for it in 0..maxIter-1:
 *     if sum |F - F_prev| < tol: converged, nIter = it, stop
 *     F_prev = F; F = G F
 *     propagation (alpha = null): normalise every row by its sum (a 0 sum counts as 1), then reset the
 *       labelled rows to their one-hot rows (hard clamping)
 *     spreading: F = alpha F + (1 - alpha) F0 (soft clamping)
 *   otherwise: not converged, nIter = maxIter
 *   finally every row is normalised by its sum (a 0 sum counts as 1: unreached rows stay 0).
 *
 * G is the row-normalised affinity for propagation and the normalised-Laplacian affinity for spreading
 * (see the LabelPropagation and LabelSpreading models). Any AffinityOperator works, so a distributed
 * reducer can supply a sharded product, or drive `propagationStep` itself one iteration at a time.
 */
export interface PropagationOptions {
  /** null: label propagation (hard clamping); a number in (0, 1): label spreading's clamping factor. */
  readonly alpha: number | null;
  readonly maxIter: number;
  readonly tol: number;
}

export interface PropagationResult {
  /** n x nClasses, row-major, each row summing to 1 (or all 0 for a row no label reached). */
  readonly distributions: Float64Array;
  /** scikit-learn's n_iter_: updates made (maxIter when not converged). */
  readonly nIter: number;
  readonly converged: boolean;
  /** sum |F_new - F_old| of each update, in order (length nIter). */
  readonly deltas: number[];
  /** Threads that computed the graph products: 2 when split with a helper thread (ParallelCsrProduct), else 1. */
  readonly productThreads: 1 | 2;
}

/** Checks alpha/maxIter/tol with RangeErrors (alpha null = propagation). */
export function checkPropagationOptions(options: PropagationOptions): void {
  const { alpha, maxIter, tol } = options;
  if (alpha !== null && !(alpha > 0 && alpha < 1)) {
    throw new RangeError(`alpha=${alpha} is invalid: it must be inside the open interval (0, 1)`);
  }
  if (!Number.isInteger(maxIter) || maxIter < 1)
    throw new RangeError(`maxIter must be an integer >= 1, got ${maxIter}`);
  if (!(Number.isFinite(tol) && tol >= 0)) throw new RangeError(`tol must be a finite number >= 0, got ${tol}`);
}

/** Checks y (values -1 or 0..nClasses-1) against n and returns nothing. */
export function checkLabels(y: Int32Array, n: number, nClasses: number): void {
  if (y.length !== n) throw new RangeError(`y has ${y.length} labels but the graph has n=${n} points`);
  if (!Number.isInteger(nClasses) || nClasses < 1)
    throw new RangeError(`nClasses must be an integer >= 1, got ${nClasses}`);
  for (let i = 0; i < n; i++) {
    if (y[i] < UNLABELLED || y[i] >= nClasses) {
      throw new RangeError(`y[${i}]=${y[i]} is outside -1..${nClasses - 1}`);
    }
  }
}

/** F0: one-hot rows for labelled points (y[i] = class column), zero rows for y[i] = -1. */
export function initialDistributions(y: Int32Array, nClasses: number): Float64Array {
  const F = new Float64Array(y.length * nClasses);
  for (let i = 0; i < y.length; i++) if (y[i] >= 0) F[i * nClasses + y[i]] = 1;
  return F;
}

/**
 * One update: next = clamp(G current) as described above. Returns sum |next - current|, the value the
 * following iteration tests against tol. `next` must not alias `current`.
 */
export function propagationStep(
  operator: AffinityOperator,
  y: Int32Array,
  nClasses: number,
  alpha: number | null,
  current: Float64Array,
  next: Float64Array,
): number {
  operator.multiply(current, nClasses, next);
  return clampStep(y, nClasses, alpha, current, next);
}

/**
 * The part of an update after the product: `next` holds G current on entry (its rows only, for rows
 * [0, y.length)); clamps it in place as described above and returns sum |next - current| over those rows, in
 * row order. A fanned-out iteration applies it to one partition's rows (stages/iterate.ts).
 */
export function clampStep(
  y: Int32Array,
  nClasses: number,
  alpha: number | null,
  current: Float64Array,
  next: Float64Array,
): number {
  const n = y.length;
  const k = nClasses;
  let delta = 0;
  if (alpha === null) {
    for (let i = 0; i < n; i++) {
      const o = i * k;
      const label = y[i];
      if (label >= 0) {
        for (let c = 0; c < k; c++) {
          const v = c === label ? 1 : 0;
          next[o + c] = v;
          delta += Math.abs(v - current[o + c]);
        }
        continue;
      }
      let sum = 0;
      for (let c = 0; c < k; c++) sum += next[o + c];
      if (sum === 0) sum = 1;
      for (let c = 0; c < k; c++) {
        const v = next[o + c] / sum;
        next[o + c] = v;
        delta += Math.abs(v - current[o + c]);
      }
    }
    return delta;
  }
  const keep = 1 - alpha;
  for (let i = 0; i < n; i++) {
    const o = i * k;
    const label = y[i];
    for (let c = 0; c < k; c++) {
      const v = alpha * next[o + c] + (c === label ? keep : 0);
      next[o + c] = v;
      delta += Math.abs(v - current[o + c]);
    }
  }
  return delta;
}

/** Divides each row of the n x k block by its sum, a 0 sum counting as 1 (scikit-learn's normaliser guard). */
export function normalizeRows(F: Float64Array, k: number): void {
  for (let o = 0; o < F.length; o += k) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += F[o + c];
    if (sum === 0) sum = 1;
    for (let c = 0; c < k; c++) F[o + c] /= sum;
  }
}

/**
 * scikit-learn's `_build_graph` step, turning the affinity into the propagation graph: 'row-normalize'
 * (LabelPropagation, rowNormalize.ts) or 'normalized-laplacian' (LabelSpreading, normalizedLaplacian.ts).
 * Given to propagateLabels, it runs in place (the affinity is used up), after the locality renumbering where
 * there is one: there a row's neighbours are near in memory.
 */
export type GraphTransform = 'row-normalize' | 'normalized-laplacian';

function transform(graph: Graph, how: GraphTransform | undefined, degrees?: Float64Array): Graph {
  if (how === 'row-normalize') return rowNormalize(graph);
  if (how === 'normalized-laplacian') return normalizedLaplacianAffinity(graph, degrees);
  return graph;
}

/** Runs the iteration to convergence or maxIter (see the file comment), over the graph transformed by `how`. */
export function propagateLabels(
  graph: Graph | AffinityOperator,
  y: Int32Array,
  nClasses: number,
  options: PropagationOptions,
  how?: GraphTransform,
): PropagationResult {
  checkPropagationOptions(options);
  if ('multiply' in graph) {
    if (how) throw new RangeError('an affinity operator cannot be transformed: transform its graph');
    checkLabels(y, graph.n, nClasses);
    return iterate(graph, y, nClasses, options);
  }
  checkLabels(y, graph.n, nClasses);
  if (isCsr(graph) && graph.n >= LOCALITY_FROM_ROWS) return propagateRenumbered(graph, y, nClasses, options, { how });
  return iterate(affinityOperator(transform(graph, how)), y, nClasses, options);
}

function hasUnitWeights({ data }: CsrGraph): boolean {
  for (let p = 0; p < data.length; p++) if (data[p] !== 1) return false;
  return true;
}

/**
 * propagateLabels on the graph renumbered breadth first (localityOrder.ts), results put back in row order.
 * Every row's distribution is the same doubles as without renumbering; only the sums of |F - F_prev| over
 * the rows (the convergence test) add in the new order, which can change their last bits. The transform runs
 * on the renumbered graph. Its in-degrees (normalized-laplacian) are summed in the original row order, as
 * before renumbering, unless every weight is 1 (the knn kernel's connectivity): then a degree is a count,
 * the same in any order, and is summed over the renumbered rows.
 */
export function propagateRenumbered(
  graph: CsrGraph,
  y: Int32Array,
  nClasses: number,
  options: PropagationOptions,
  { cores = availableParallelism(), how }: { cores?: number; how?: GraphTransform } = {},
): PropagationResult {
  const unitWeights = hasUnitWeights(graph);
  const degrees = how === 'normalized-laplacian' && !unitWeights ? inDegrees(graph) : undefined;
  const inParallel = graph.n >= PARALLEL_PRODUCT_FROM_ROWS;
  const { order, graph: renumbered } = renumberBreadthFirst(graph, inParallel, unitWeights);
  transform(renumbered, how, degrees && Float64Array.from(order, (row) => degrees[row]));
  const renumberedY = new Int32Array(order.length);
  for (let r = 0; r < order.length; r++) renumberedY[r] = y[order[r]];
  const parallel = inParallel ? ParallelCsrProduct.open(renumbered, nClasses, cores) : undefined;
  let result: PropagationResult;
  try {
    result = parallel
      ? { ...iterate(parallel, renumberedY, nClasses, options, parallel.blocks), productThreads: 2 }
      : iterate(affinityOperator(renumbered), renumberedY, nClasses, options);
  } finally {
    parallel?.close();
  }
  const distributions = new Float64Array(result.distributions.length);
  for (let r = 0; r < order.length; r++) {
    const from = r * nClasses;
    const to = order[r] * nClasses;
    for (let c = 0; c < nClasses; c++) distributions[to + c] = result.distributions[from + c];
  }
  return { ...result, distributions };
}

/** The loop; `blocks`, when given, are the two n x k arrays it swaps (the operator's shared memory). */
function iterate(
  operator: AffinityOperator,
  y: Int32Array,
  nClasses: number,
  options: PropagationOptions,
  blocks?: readonly [Float64Array, Float64Array],
): PropagationResult {
  const { alpha, maxIter, tol } = options;
  let current: Float64Array = initialDistributions(y, nClasses);
  let next: Float64Array = blocks?.[1] ?? new Float64Array(current.length);
  if (blocks) {
    blocks[0].set(current);
    current = blocks[0];
  }
  // the first test compares F0 with F_prev = 0
  let delta = 0;
  for (let p = 0; p < current.length; p++) delta += Math.abs(current[p]);
  const deltas: number[] = [];
  let converged = false;
  let nIter = 0;
  for (; nIter < maxIter; nIter++) {
    if (delta < tol) {
      converged = true;
      break;
    }
    delta = propagationStep(operator, y, nClasses, alpha, current, next);
    deltas.push(delta);
    const swap = current;
    current = next;
    next = swap;
  }
  normalizeRows(current, nClasses);
  return { distributions: current, nIter, converged, deltas, productThreads: 1 };
}

/** Constructor parameters shared by LabelPropagation and LabelSpreading (scikit-learn's names, camelCased). */
export interface BasePropagationParams {
  /** 'rbf' (dense, small n), 'knn' (connectivity) or 'knn-rbf' (rbf weights on knn edges). Default 'rbf'. */
  readonly kernel?: KernelName;
  /** rbf parameter (rbf, knn-rbf). Default 20. */
  readonly gamma?: number;
  /** knn parameter (knn, knn-rbf). Default 7. */
  readonly nNeighbors?: number;
  readonly maxIter?: number;
  /** Default 1e-3. */
  readonly tol?: number;
  /** Memory guard of the dense rbf kernel (default n <= 20,000 and 2 GiB). */
  readonly denseLimits?: DenseKernelLimits;
  /** Receives the ConvergenceWarning; default process.emitWarning. */
  readonly onWarning?: WarningHandler;
}

export type TerminationReason = 'converged' | 'max_iter';

/**
 * scikit-learn's BaseLabelPropagation: parameters checked on construction, `fit(X, y)` with y holding class
 * values >= 0 or -1 (unlabelled), then `labelDistributions`, `transduction`, `nIter`, `converged` and
 * `predict`/`predictProba` for new points. Subclasses provide the graph and alpha.
 */
export abstract class BaseLabelPropagation {
  readonly kernel: KernelName;
  readonly gamma: number;
  readonly nNeighbors: number;
  readonly maxIter: number;
  readonly tol: number;
  readonly denseLimits: DenseKernelLimits | undefined;
  protected readonly onWarning: WarningHandler;

  /** Distinct non-negative values of y, ascending (classes_). */
  classes: Int32Array = new Int32Array(0);
  /** n x classes.length, rows sum to 1 (label_distributions_). */
  labelDistributions: Float64Array = new Float64Array(0);
  /** classes[argmax] of every training row (transduction_). */
  transduction: Int32Array = new Int32Array(0);
  nIter = 0;
  converged = false;
  terminationReason: TerminationReason | undefined;
  /** sum |F_new - F_old| per iteration. */
  deltas: number[] = [];
  private trainX: FeatureMatrix | undefined;

  protected constructor(params: BasePropagationParams, defaultMaxIter: number) {
    this.kernel = params.kernel ?? 'rbf';
    this.gamma = params.gamma ?? 20;
    this.nNeighbors = params.nNeighbors ?? 7;
    this.maxIter = params.maxIter ?? defaultMaxIter;
    this.tol = params.tol ?? 1e-3;
    this.denseLimits = params.denseLimits;
    this.onWarning = params.onWarning ?? emitProcessWarning;
    checkKernelParams(this.kernelParams());
    checkPropagationOptions({ alpha: null, maxIter: this.maxIter, tol: this.tol });
  }

  /** null for hard clamping (propagation), the clamping factor for spreading. */
  protected abstract get clampAlpha(): number | null;

  /** The graph the iteration multiplies by (scikit-learn's `_build_graph`). */
  abstract buildGraph(X: FeatureMatrix): Graph;

  protected kernelParams(): KernelParams {
    return { kernel: this.kernel, gamma: this.gamma, nNeighbors: this.nNeighbors, denseLimits: this.denseLimits };
  }

  fit(X: FeatureMatrix, y: Int32Array): this {
    if (y.length !== X.n) throw new RangeError(`y has ${y.length} labels but X has ${X.n} rows`);
    const classes = distinctClasses(y);
    if (classes.length === 0) throw new NoLabelledSamplesError();
    const column = new Map<number, number>();
    for (let c = 0; c < classes.length; c++) column.set(classes[c], c);
    const encoded = new Int32Array(y.length);
    for (let i = 0; i < y.length; i++) encoded[i] = y[i] === UNLABELLED ? UNLABELLED : column.get(y[i])!;

    const graph = this.buildGraph(X);
    const result = propagateLabels(graph, encoded, classes.length, {
      alpha: this.clampAlpha,
      maxIter: this.maxIter,
      tol: this.tol,
    });
    this.trainX = X;
    this.classes = classes;
    this.labelDistributions = result.distributions;
    this.nIter = result.nIter;
    this.converged = result.converged;
    this.terminationReason = result.converged ? 'converged' : 'max_iter';
    this.deltas = result.deltas;
    this.transduction = labelsOf(result.distributions, classes);
    if (!result.converged) {
      this.onWarning(new ConvergenceWarning(`max_iter=${this.maxIter} was reached without convergence.`));
    }
    return this;
  }

  /**
   * Class probabilities of new points (scikit-learn's predict_proba): the kernel weights between each new
   * point and the training points times labelDistributions, each row divided by its sum. As in
   * scikit-learn there is no zero guard: a point with no weight on any training point gets NaN.
   */
  predictProba(X: FeatureMatrix): Float64Array {
    const trainX = this.fitted();
    const k = this.classes.length;
    const P = inductiveProduct(trainX, X, this.kernelParams(), this.labelDistributions, k);
    for (let o = 0; o < P.length; o += k) {
      let sum = 0;
      for (let c = 0; c < k; c++) sum += P[o + c];
      for (let c = 0; c < k; c++) P[o + c] /= sum;
    }
    return P;
  }

  /** classes[argmax predictProba] for every row of X. */
  predict(X: FeatureMatrix): Int32Array {
    return labelsOf(this.predictProba(X), this.classes);
  }

  private fitted(): FeatureMatrix {
    if (this.trainX === undefined) throw new NotFittedError(this.constructor.name);
    return this.trainX;
  }
}

function distinctClasses(y: Int32Array): Int32Array {
  const seen = new Set<number>();
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v < UNLABELLED) throw new RangeError(`y[${i}]=${v} is invalid: labels are class values >= 0, or -1`);
    if (v !== UNLABELLED) seen.add(v);
  }
  return Int32Array.from([...seen].sort((a, b) => a - b));
}

function labelsOf(F: Float64Array, classes: Int32Array): Int32Array {
  const k = classes.length;
  const n = F.length / k;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = classes[argmaxRow(F, i, k)];
  return labels;
}
