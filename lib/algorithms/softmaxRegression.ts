import type { FeatureMatrix } from '../data/featureMatrix.ts';
import { argmaxRow } from '../linalg/argmaxRow.ts';
import { type Classifier, processWarning, uniqueSorted, type WarningSink } from './classifier.ts';
import { NotFittedError, TooFewClassesError } from './errors.ts';

/**
 * Multinomial logistic regression fitted by L-BFGS: scikit-learn's `LogisticRegression(C=1.0)` with its
 * defaults (solver lbfgs, L2 penalty, fit_intercept, tol 1e-4, max_iter 100), as in scikit-learn 1.7+:
 *
 * - objective, scaled the way scikit-learn's LinearModelLoss scales it:
 *   `f(W, b) = [sum_i s_i * logloss_i + ||W||^2 / (2C)] / sum_i s_i` (the intercept is not penalised);
 * - three or more classes: the full (over-parametrised) multinomial model, one weight row per class, softmax;
 * - two classes: the binomial model with a single weight row for `classes[1]` (HalfBinomialLoss), probabilities
 *   `[1 - sigmoid(z), sigmoid(z)]`; this is not the same fit as a 2-class multinomial (whose penalty differs);
 * - features are used as given (no implicit scaling); `standardize: true` fits on z-scored features and folds
 *   the scaling back into `coef` / `intercept`, which then act on raw features (a robustness option, off by default).
 *
 * The optimiser reproduces SciPy's L-BFGS-B on an unconstrained problem (memory 10, Moré-Thuente line search with
 * ftol 1e-3 / gtol 0.9 / xtol 0.1, first step 1/||g||, maxls 50, stopping on max|g| <= tol or on a relative
 * decrease of f below 64 eps), so that even a fit stopped by `maxIter` lands close to scikit-learn's.
 */
export interface SoftmaxRegressionOptions {
  /** Inverse regularisation strength (scikit-learn's C), > 0. Default 1. */
  readonly C?: number;
  /** Maximum L-BFGS iterations (scikit-learn's max_iter), integer >= 1. Default 100. */
  readonly maxIter?: number;
  /** Stop when the largest gradient component is <= tol (scikit-learn passes tol as L-BFGS-B's gtol). Default 1e-4. */
  readonly tol?: number;
  /** Fit an unpenalised intercept per class. Default true. */
  readonly fitIntercept?: boolean;
  /** Z-score the features internally during fit (not in scikit-learn's LogisticRegression). Default false. */
  readonly standardize?: boolean;
  /** Receives the non-convergence warning (scikit-learn's ConvergenceWarning). Default: process warning. */
  readonly onWarning?: WarningSink;
}

/** A fitted SoftmaxRegression's parameters. */
export interface SoftmaxModelJson {
  readonly classes: number[];
  readonly coef: number[];
  readonly intercept: number[];
  readonly d: number;
}

export class SoftmaxRegression implements Classifier {
  readonly C: number;
  readonly maxIter: number;
  readonly tol: number;
  readonly fitIntercept: boolean;
  readonly standardize: boolean;
  private readonly onWarning: WarningSink;

  /** Sorted class codes seen in fit. */
  classes: Int32Array = new Int32Array(0);
  /** Row-major weights on raw features: k x d, or 1 x d (for classes[1]) in the binary case. */
  coef: Float64Array = new Float64Array(0);
  /** Intercepts: k, or 1 in the binary case. */
  intercept: Float64Array = new Float64Array(0);
  /** L-BFGS iterations of the last fit (scikit-learn's n_iter_). */
  nIter = 0;
  /** Whether the last fit met the tolerance before maxIter (false also after a failed line search). */
  converged = false;
  private d = -1;

  /** The fitted parameters as plain JSON (a reduce step hands a model to the shard tasks that score with it). */
  toJSON(): SoftmaxModelJson {
    return { classes: [...this.classes], coef: [...this.coef], intercept: [...this.intercept], d: this.d };
  }

  /** A fitted model from toJSON's output (options other than the parameters are defaults). */
  static fromJSON(json: SoftmaxModelJson): SoftmaxRegression {
    const model = new SoftmaxRegression();
    model.classes = Int32Array.from(json.classes);
    model.coef = Float64Array.from(json.coef);
    model.intercept = Float64Array.from(json.intercept);
    model.d = json.d;
    return model;
  }

  constructor(options: SoftmaxRegressionOptions = {}) {
    const { C = 1, maxIter = 100, tol = 1e-4, fitIntercept = true, standardize = false } = options;
    if (!(C > 0) || !Number.isFinite(C)) throw new RangeError(`C must be a finite number > 0, got ${C}`);
    if (!Number.isInteger(maxIter) || maxIter < 1)
      throw new RangeError(`maxIter must be an integer >= 1, got ${maxIter}`);
    if (!(tol >= 0) || !Number.isFinite(tol)) throw new RangeError(`tol must be a finite number >= 0, got ${tol}`);
    this.C = C;
    this.maxIter = maxIter;
    this.tol = tol;
    this.fitIntercept = fitIntercept;
    this.standardize = standardize;
    this.onWarning = options.onWarning ?? processWarning;
  }

  fit(X: FeatureMatrix, y: Int32Array, sampleWeight?: Float64Array): this {
    const { n, d } = X;
    if (y.length !== n) throw new RangeError(`y has ${y.length} labels for ${n} rows`);
    if (n === 0) throw new RangeError('cannot fit on 0 rows');
    for (let i = 0; i < n; i++) {
      if (y[i] < 0) throw new RangeError(`labels passed to fit must be >= 0, got ${y[i]} at row ${i}`);
    }
    let swSum = n;
    if (sampleWeight !== undefined) {
      if (sampleWeight.length !== n)
        throw new RangeError(`sampleWeight has ${sampleWeight.length} values for ${n} rows`);
      swSum = 0;
      for (let i = 0; i < n; i++) {
        const w = sampleWeight[i];
        if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`sampleWeight must be finite and >= 0, got ${w}`);
        swSum += w;
      }
      if (!(swSum > 0)) throw new RangeError('sampleWeight must not sum to 0');
    }
    const classes = uniqueSorted(y);
    if (classes.length < 2) throw new TooFewClassesError(classes.length);
    const codes = encode(y, classes);

    let data = X.data;
    let mean: Float64Array | undefined;
    let scale: Float64Array | undefined;
    if (this.standardize) {
      ({ mean, scale } = columnMoments(X));
      data = standardized(X, mean, scale);
    }

    const k = classes.length;
    const rows = k === 2 ? 1 : k;
    const objective =
      k === 2
        ? binomialObjective(data, n, d, codes, sampleWeight, swSum, this.C, this.fitIntercept)
        : multinomialObjective(data, n, d, k, codes, sampleWeight, swSum, this.C, this.fitIntercept);
    const x0 = new Float64Array(rows * d + (this.fitIntercept ? rows : 0));
    const result = minimizeLbfgs(objective, x0, { maxIter: this.maxIter, gtol: this.tol });

    const coef = result.x.slice(0, rows * d);
    const intercept = this.fitIntercept ? result.x.slice(rows * d) : new Float64Array(rows);
    if (mean !== undefined && scale !== undefined) {
      // w . (x - mu) / s + b = (w / s) . x + (b - sum_j w_j mu_j / s_j)
      for (let c = 0; c < rows; c++) {
        for (let j = 0; j < d; j++) {
          coef[c * d + j] /= scale[j];
          intercept[c] -= coef[c * d + j] * mean[j];
        }
      }
    }
    this.classes = classes;
    this.coef = coef;
    this.intercept = intercept;
    this.nIter = result.nIter;
    this.converged = result.status === 'converged';
    this.d = d;
    if (!this.converged) {
      this.onWarning(
        result.status === 'max_iter'
          ? `lbfgs failed to converge after ${result.nIter} iteration(s): increase maxIter or standardize the features`
          : `lbfgs stopped after ${result.nIter} iteration(s): the line search failed (ABNORMAL_TERMINATION_IN_LNSRCH)`,
      );
    }
    return this;
  }

  /** Raw scores X W^T + b, n x rows. */
  decisionFunction(X: FeatureMatrix): Float64Array {
    if (this.d < 0) throw new NotFittedError('SoftmaxRegression');
    if (X.d !== this.d) throw new RangeError(`X has ${X.d} features, the model was fitted with ${this.d}`);
    const { n, d, data } = X;
    const rows = this.intercept.length;
    const coef = this.coef;
    const out = new Float64Array(n * rows);
    for (let i = 0; i < n; i++) {
      const base = i * d;
      for (let c = 0; c < rows; c++) {
        const wo = c * d;
        let z = this.intercept[c];
        for (let j = 0; j < d; j++) z += data[base + j] * coef[wo + j];
        out[i * rows + c] = z;
      }
    }
    return out;
  }

  predictProba(X: FeatureMatrix): Float64Array {
    const raw = this.decisionFunction(X);
    const n = X.n;
    const k = this.classes.length;
    if (k === 2) {
      const out = new Float64Array(n * 2);
      for (let i = 0; i < n; i++) {
        const p = expit(raw[i]);
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      }
      return out;
    }
    for (let i = 0; i < n; i++) softmaxInPlace(raw, i * k, k);
    return raw;
  }

  predict(X: FeatureMatrix): Int32Array {
    const raw = this.decisionFunction(X);
    const k = this.classes.length;
    const out = new Int32Array(X.n);
    for (let i = 0; i < X.n; i++) {
      out[i] = k === 2 ? this.classes[raw[i] > 0 ? 1 : 0] : this.classes[argmaxRow(raw, i, k)];
    }
    return out;
  }
}

/** Position of each label in the sorted `classes`. */
function encode(y: Int32Array, classes: Int32Array): Int32Array {
  const index = new Map<number, number>();
  for (let c = 0; c < classes.length; c++) index.set(classes[c], c);
  const codes = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) codes[i] = index.get(y[i])!;
  return codes;
}

/** Column means and population standard deviations (StandardScaler; a constant column gets scale 1). */
function columnMoments(X: FeatureMatrix): { mean: Float64Array; scale: Float64Array } {
  const { n, d, data } = X;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const delta = data[i * d + j] - mean[j];
      scale[j] += delta * delta;
    }
  }
  for (let j = 0; j < d; j++) {
    const sd = Math.sqrt(scale[j] / n);
    scale[j] = sd > 0 ? sd : 1;
  }
  return { mean, scale };
}

function standardized(X: FeatureMatrix, mean: Float64Array, scale: Float64Array): Float64Array {
  const { n, d, data } = X;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = (data[i * d + j] - mean[j]) / scale[j];
  return out;
}

function expit(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Replaces p[base, base+k) by its softmax (max-shifted). */
function softmaxInPlace(p: Float64Array, base: number, k: number): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < k; c++) if (p[base + c] > max) max = p[base + c];
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const e = Math.exp(p[base + c] - max);
    p[base + c] = e;
    sum += e;
  }
  for (let c = 0; c < k; c++) p[base + c] /= sum;
}

/** f(x) written with its gradient into `grad`; returns f. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/**
 * The penalised multinomial log loss (HalfMultinomialLoss: logsumexp(z_i) - z_i[y_i]) and its gradient over the
 * parameters [W (k x d, row-major), b (k)], scaled by 1 / sum(s) as in scikit-learn.
 */
export function multinomialObjective(
  data: Float32Array | Float64Array,
  n: number,
  d: number,
  k: number,
  codes: Int32Array,
  sampleWeight: Float64Array | undefined,
  swSum: number,
  C: number,
  fitIntercept: boolean,
): Objective {
  const z = new Float64Array(k);
  const kd = k * d;
  const l2 = 1 / (C * swSum);
  return (w, grad) => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const base = i * d;
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        const wo = c * d;
        let s = fitIntercept ? w[kd + c] : 0;
        for (let j = 0; j < d; j++) s += data[base + j] * w[wo + j];
        z[c] = s;
        if (s > max) max = s;
      }
      const yi = codes[i];
      const zy = z[yi];
      let sum = 0;
      for (let c = 0; c < k; c++) {
        const e = Math.exp(z[c] - max);
        z[c] = e;
        sum += e;
      }
      const si = sampleWeight === undefined ? 1 : sampleWeight[i];
      if (si === 0) continue;
      loss += si * (Math.log(sum) + max - zy);
      for (let c = 0; c < k; c++) {
        const gc = si * (z[c] / sum - (c === yi ? 1 : 0));
        const wo = c * d;
        for (let j = 0; j < d; j++) grad[wo + j] += gc * data[base + j];
        if (fitIntercept) grad[kd + c] += gc;
      }
    }
    loss /= swSum;
    for (let p = 0; p < grad.length; p++) grad[p] /= swSum;
    for (let p = 0; p < kd; p++) {
      loss += 0.5 * l2 * w[p] * w[p];
      grad[p] += l2 * w[p];
    }
    return loss;
  };
}

/**
 * The penalised binomial log loss (HalfBinomialLoss: log(1 + e^z) - y z with y = [label is classes[1]]) over
 * [w (d), b], scaled by 1 / sum(s) as in scikit-learn.
 */
export function binomialObjective(
  data: Float32Array | Float64Array,
  n: number,
  d: number,
  codes: Int32Array,
  sampleWeight: Float64Array | undefined,
  swSum: number,
  C: number,
  fitIntercept: boolean,
): Objective {
  const l2 = 1 / (C * swSum);
  return (w, grad) => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const si = sampleWeight === undefined ? 1 : sampleWeight[i];
      if (si === 0) continue;
      const base = i * d;
      let z = fitIntercept ? w[d] : 0;
      for (let j = 0; j < d; j++) z += data[base + j] * w[j];
      const yi = codes[i];
      loss += si * (z > 0 ? Math.log1p(Math.exp(-z)) + (1 - yi) * z : Math.log1p(Math.exp(z)) - yi * z);
      const g = si * (expit(z) - yi);
      for (let j = 0; j < d; j++) grad[j] += g * data[base + j];
      if (fitIntercept) grad[d] += g;
    }
    loss /= swSum;
    for (let p = 0; p < grad.length; p++) grad[p] /= swSum;
    for (let p = 0; p < d; p++) {
      loss += 0.5 * l2 * w[p] * w[p];
      grad[p] += l2 * w[p];
    }
    return loss;
  };
}

export interface LbfgsOptions {
  readonly maxIter: number;
  /** Stop when max_i |g_i| <= gtol. */
  readonly gtol: number;
  /** Stop when (f_old - f) <= ftol * max(|f_old|, |f|, 1). Default 64 eps, as scikit-learn passes. */
  readonly ftol?: number;
  /** Number of correction pairs kept. Default 10 (SciPy's maxcor). */
  readonly memory?: number;
  /** Maximum function evaluations per line search. Default 50 (scikit-learn's maxls). */
  readonly maxLineSearch?: number;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly f: number;
  readonly nIter: number;
  readonly nEval: number;
  /** converged: a tolerance was met; max_iter: stopped by maxIter; abnormal: the line search failed twice. */
  readonly status: 'converged' | 'max_iter' | 'abnormal';
}

const EPS = 2.220446049250313e-16;
const STEP_MAX = 1e10;

/**
 * Limited-memory BFGS (Liu & Nocedal 1989) following SciPy's L-BFGS-B without bounds (Byrd, Lu, Nocedal & Zhu 1995):
 * two-loop recursion with H0 = s'y / y'y, Moré-Thuente line search, a correction pair skipped when
 * s'y <= eps * (-g'd) * step, memory reset and a steepest-descent retry when a line search fails.
 * Iterations count accepted steps (SciPy's nit); the maxIter test comes before the convergence tests, as in SciPy.
 */
export function minimizeLbfgs(fg: Objective, x0: Float64Array, options: LbfgsOptions): LbfgsResult {
  const { maxIter, gtol, ftol = 64 * EPS, memory = 10, maxLineSearch = 50 } = options;
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fg(x, g);
  let nEval = 1;
  if (infNorm(g) <= gtol) return { x, f, nIter: 0, nEval, status: 'converged' };

  const S = Array.from({ length: memory }, () => new Float64Array(n));
  const Y = Array.from({ length: memory }, () => new Float64Array(n));
  const rho = new Float64Array(memory);
  const alpha = new Float64Array(memory);
  const d = new Float64Array(n);
  const xOld = new Float64Array(n);
  const gOld = new Float64Array(n);
  const search = new MoreThuente();
  let used = 0;
  let oldest = 0;
  let h0 = 1;
  let nIter = 0;

  for (;;) {
    // Search direction d = -H g by the two-loop recursion (steepest descent without corrections).
    for (let j = 0; j < n; j++) d[j] = -g[j];
    if (used > 0) {
      for (let back = used - 1; back >= 0; back--) {
        const slot = (oldest + back) % memory;
        const a = rho[slot] * dot(S[slot], d);
        alpha[slot] = a;
        axpy(-a, Y[slot], d);
      }
      for (let j = 0; j < n; j++) d[j] *= h0;
      for (let fwd = 0; fwd < used; fwd++) {
        const slot = (oldest + fwd) % memory;
        const b = rho[slot] * dot(Y[slot], d);
        axpy(alpha[slot] - b, S[slot], d);
      }
    }

    const fOld = f;
    const gdOld = dot(g, d);
    let accepted = false;
    let step = 0;
    let gd = gdOld;
    if (gdOld < 0) {
      xOld.set(x);
      gOld.set(g);
      step = nIter === 0 ? Math.min(1 / Math.sqrt(dot(d, d)), STEP_MAX) : 1;
      search.start(f, gdOld, step, STEP_MAX);
      for (let evals = 0; evals < maxLineSearch; evals++) {
        for (let j = 0; j < n; j++) x[j] = xOld[j] + step * d[j];
        f = fg(x, g);
        nEval++;
        gd = dot(g, d);
        const status = search.next(step, f, gd);
        if (status === SEARCH_DONE) {
          accepted = true;
          break;
        }
        step = search.step;
        if (!Number.isFinite(step)) break;
      }
      if (!accepted) {
        x.set(xOld);
        g.set(gOld);
        f = fOld;
      }
    }
    if (!accepted) {
      if (used === 0) return { x, f, nIter, nEval, status: 'abnormal' };
      used = 0;
      oldest = 0;
      h0 = 1;
      continue;
    }

    nIter++;
    if (nIter >= maxIter) return { x, f, nIter, nEval, status: 'max_iter' };
    if (infNorm(g) <= gtol) return { x, f, nIter, nEval, status: 'converged' };
    if (fOld - f <= ftol * Math.max(Math.abs(fOld), Math.abs(f), 1)) return { x, f, nIter, nEval, status: 'converged' };

    // s'y from the directional derivatives, as L-BFGS-B computes it.
    const sy = (gd - gdOld) * step;
    if (sy > EPS * -gdOld * step) {
      let slot: number;
      if (used < memory) {
        slot = (oldest + used) % memory;
        used++;
      } else {
        slot = oldest;
        oldest = (oldest + 1) % memory;
      }
      const s = S[slot];
      const yv = Y[slot];
      for (let j = 0; j < n; j++) {
        s[j] = step * d[j];
        yv[j] = g[j] - gOld[j];
      }
      rho[slot] = 1 / sy;
      h0 = sy / dot(yv, yv);
    }
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let j = 0; j < x.length; j++) y[j] += a * x[j];
}

function infNorm(a: Float64Array): number {
  let m = 0;
  for (let j = 0; j < a.length; j++) {
    const v = Math.abs(a[j]);
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}

const SEARCH_MORE = 0;
const SEARCH_DONE = 1;

/**
 * Moré & Thuente (1994) line search, as MINPACK-2's dcsrch/dcstep (the search inside L-BFGS-B) with
 * ftol 1e-3, gtol 0.9, xtol 0.1, stpmin 0. `next` takes f and f' at the trial step and returns SEARCH_DONE when the
 * step is accepted (strong Wolfe conditions met, or no further progress possible: the step is then kept, as
 * L-BFGS-B does), else SEARCH_MORE with the next trial in `step`.
 */
class MoreThuente {
  private readonly ftol = 1e-3;
  private readonly gtol = 0.9;
  private readonly xtol = 0.1;
  private readonly stpmin = 0;
  private stpmax = STEP_MAX;
  step = 0;
  private brackt = false;
  private stage = 1;
  private finit = 0;
  private ginit = 0;
  private gtest = 0;
  private width = 0;
  private width1 = 0;
  private stmin = 0;
  private stmax = 0;
  private readonly b: Bracket = { stx: 0, fx: 0, dx: 0, sty: 0, fy: 0, dy: 0, brackt: false };

  start(f: number, g: number, step: number, stpmax: number): void {
    this.stpmax = stpmax;
    this.step = step;
    this.brackt = false;
    this.stage = 1;
    this.finit = f;
    this.ginit = g;
    this.gtest = this.ftol * g;
    this.width = stpmax - this.stpmin;
    this.width1 = this.width / 0.5;
    const b = this.b;
    b.stx = 0;
    b.fx = f;
    b.dx = g;
    b.sty = 0;
    b.fy = f;
    b.dy = g;
    this.stmin = 0;
    this.stmax = step + 4 * step;
  }

  next(stp: number, f: number, g: number): number {
    const b = this.b;
    const ftest = this.finit + stp * this.gtest;
    if (this.stage === 1 && f <= ftest && g >= 0) this.stage = 2;
    if (this.brackt && (stp <= this.stmin || stp >= this.stmax)) return SEARCH_DONE;
    if (this.brackt && this.stmax - this.stmin <= this.xtol * this.stmax) return SEARCH_DONE;
    if (stp === this.stpmax && f <= ftest && g <= this.gtest) return SEARCH_DONE;
    if (stp === this.stpmin && (f > ftest || g >= this.gtest)) return SEARCH_DONE;
    if (f <= ftest && Math.abs(g) <= this.gtol * -this.ginit) return SEARCH_DONE;

    b.brackt = this.brackt;
    if (this.stage === 1 && f <= b.fx && f > ftest) {
      // Stage 1 works on the modified function psi(a) = f(a) - f(0) - ftol a f'(0).
      const gt = this.gtest;
      b.fx -= b.stx * gt;
      b.fy -= b.sty * gt;
      b.dx -= gt;
      b.dy -= gt;
      stp = dcstep(b, stp, f - stp * gt, g - gt, this.stmin, this.stmax);
      b.fx += b.stx * gt;
      b.fy += b.sty * gt;
      b.dx += gt;
      b.dy += gt;
    } else {
      stp = dcstep(b, stp, f, g, this.stmin, this.stmax);
    }
    this.brackt = b.brackt;

    if (this.brackt) {
      if (Math.abs(b.sty - b.stx) >= 0.66 * this.width1) stp = b.stx + 0.5 * (b.sty - b.stx);
      this.width1 = this.width;
      this.width = Math.abs(b.sty - b.stx);
      this.stmin = Math.min(b.stx, b.sty);
      this.stmax = Math.max(b.stx, b.sty);
    } else {
      this.stmin = stp + 1.1 * (stp - b.stx);
      this.stmax = stp + 4 * (stp - b.stx);
    }
    stp = Math.min(Math.max(stp, this.stpmin), this.stpmax);
    if (
      (this.brackt && (stp <= this.stmin || stp >= this.stmax)) ||
      (this.brackt && this.stmax - this.stmin <= this.xtol * this.stmax)
    ) {
      stp = b.stx;
    }
    this.step = stp;
    return SEARCH_MORE;
  }
}

/** The interval of uncertainty of the line search: best step stx, other end sty, values and derivatives. */
interface Bracket {
  stx: number;
  fx: number;
  dx: number;
  sty: number;
  fy: number;
  dy: number;
  brackt: boolean;
}

/**
 * One safeguarded step of Moré & Thuente (MINPACK-2 dcstep): cubic / quadratic interpolation by the four cases of
 * the paper; updates the bracket and returns the new trial step.
 */
function dcstep(b: Bracket, stp: number, fp: number, dp: number, stpmin: number, stpmax: number): number {
  const { stx, fx, dx, sty, fy, dy } = b;
  const sgnd = Math.sign(dp) * Math.sign(dx);
  let stpf: number;
  if (fp > fx) {
    // Case 1: higher function value; the minimum is bracketed.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp < stx) gamma = -gamma;
    const p = gamma - dx + theta;
    const q = gamma - dx + gamma + dp;
    const stpc = stx + (p / q) * (stp - stx);
    const stpq = stx + (dx / ((fx - fp) / (stp - stx) + dx) / 2) * (stp - stx);
    stpf = Math.abs(stpc - stx) <= Math.abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2;
    b.brackt = true;
  } else if (sgnd < 0) {
    // Case 2: lower value, derivatives of opposite sign; the minimum is bracketed.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma - dp + gamma + dx;
    const stpc = stp + (p / q) * (stx - stp);
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
    b.brackt = true;
  } else if (Math.abs(dp) < Math.abs(dx)) {
    // Case 3: lower value, same-sign derivative decreasing in magnitude.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma + (dx - dp) + gamma;
    const r = p / q;
    let stpc: number;
    if (r < 0 && gamma !== 0) stpc = stp + r * (stx - stp);
    else if (stp > stx) stpc = stpmax;
    else stpc = stpmin;
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (b.brackt) {
      stpf = Math.abs(stpc - stp) < Math.abs(stpq - stp) ? stpc : stpq;
      stpf = stp > stx ? Math.min(stp + 0.66 * (sty - stp), stpf) : Math.max(stp + 0.66 * (sty - stp), stpf);
    } else {
      stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
      stpf = Math.min(Math.max(stpf, stpmin), stpmax);
    }
  } else if (b.brackt) {
    // Case 4: lower value, derivative not decreasing; step to the cubic minimiser with sty.
    const theta = (3 * (fp - fy)) / (sty - stp) + dy + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dy), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s));
    if (stp > sty) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma - dp + gamma + dy;
    stpf = stp + (p / q) * (sty - stp);
  } else {
    stpf = stp > stx ? stpmax : stpmin;
  }

  if (fp > fx) {
    b.sty = stp;
    b.fy = fp;
    b.dy = dp;
  } else {
    if (sgnd < 0) {
      b.sty = stx;
      b.fy = fx;
      b.dy = dx;
    }
    b.stx = stp;
    b.fx = fp;
    b.dx = dp;
  }
  return stpf;
}
