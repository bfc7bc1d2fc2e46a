import { CoTraining } from '../../algorithms/coTraining.ts';
import { SelfTraining } from '../../algorithms/selfTraining.ts';
import { UNLABELLED } from '../../data/dataset.ts';
import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { type FeatureScaling, scaleInPlace } from '../../data/featureScaling.ts';
import { copyGraph } from '../../graph/affinity.ts';
import { connectivityFromNeighbors } from '../../graph/knnKernel.ts';
import { copySlots, type KnnResult, knnSelfSearch } from '../../graph/knnSearch.ts';
import { argmaxRow } from '../../linalg/argmaxRow.ts';
import { probabilitiesOverAllClasses } from '../outputs/rowOutcome.ts';
import { effectiveMaxIter, effectiveThreshold, type RunOptions } from '../runOptions.ts';
import { propagateOverAffinity } from '../training/methods.ts';
import { stratifiedFolds } from './stratifiedFolds.ts';

/** One setting `--method auto` tries. */
export interface AutoSetting {
  readonly method: 'label-spreading' | 'label-propagation' | 'self-training' | 'co-training';
  readonly scale: 'none' | 'standard';
  /** kNN graph methods: neighbours and (spreading) alpha. */
  readonly neighbors?: number;
  readonly alpha?: number;
}

/**
 * A setting with its cross-validated accuracy (the mean over repeats and their standard deviation), its mean Brier
 * score (what auto ranks by), and its paired comparison with AUTO_FALLBACK on the same validated labels (absent for
 * the fallback itself).
 */
export interface AutoCandidate extends AutoSetting {
  readonly score: number;
  readonly spread: number;
  /**
   * Mean Brier score of the held-out labels' predicted class probabilities (the squared distance to the one-hot
   * truth, 0 to 2; lower is better; a row no label reached counts as uniform, 1 - 1/k).
   */
  readonly brier: number;
  readonly versusFallback?: PairedDifference;
  /**
   * Paired difference from the best-ranked candidate on the same labels (the best's Brier score minus this one's:
   * 0 or negative; absent for the best itself). Within AUTO_TIE of it, a candidate ties with the best.
   */
  readonly versusBest?: PairedDifference;
  /**
   * Share of the unlabelled rows (of the rows auto ran on) where this setting, trained on every given label, gives
   * the consensus label of all candidates (agreementWithConsensus): what breaks a tie at the top.
   */
  readonly agreement: number;
}

/**
 * Mean over the validated labels of the fallback's Brier score minus this setting's (positive: this one is better),
 * each label's score averaged over the repeats, and the standard error of that mean (the labels' sample standard
 * deviation over the square root of their number).
 */
export interface PairedDifference {
  readonly difference: number;
  readonly standardError: number;
}

/** What auto tried and chose (run.json and report.json `auto`). */
export interface AutoSearch {
  readonly folds: number;
  readonly repeats: number;
  /** Rows the candidates ran on: every given label (up to a bound) and a sample of the others. */
  readonly rows: number;
  readonly validated: number;
  /** Best mean score first (compareCandidates). */
  readonly candidates: AutoCandidate[];
  /** Unlabelled rows of the `rows`: where the candidates' agreement is measured. */
  readonly unlabelled: number;
  /** The setting the run goes on with (chooseCandidate). */
  readonly chosen: AutoCandidate;
}

export const AUTO_NEIGHBORS = [5, 10, 20] as const;
export const AUTO_ALPHAS = [0.2, 0.8] as const;
export const AUTO_SCALES = ['none', 'standard'] as const;
const FOLDS = 3;

/** The fixed grid: method x scale x k (graph methods) x alpha (spreading); co-training only with --views. */
export function autoGrid(withCoTraining: boolean): AutoSetting[] {
  const grid: AutoSetting[] = [];
  for (const scale of AUTO_SCALES) {
    for (const neighbors of AUTO_NEIGHBORS) {
      for (const alpha of AUTO_ALPHAS) grid.push({ method: 'label-spreading', scale, neighbors, alpha });
      grid.push({ method: 'label-propagation', scale, neighbors });
    }
    grid.push({ method: 'self-training', scale });
    if (withCoTraining) grid.push({ method: 'co-training', scale });
  }
  return grid;
}

/** Repeats of the 3-fold split: more when labels are few (the score of 15 labels is noisy), 2 to 10. */
export function repeatsFor(validated: number): number {
  return Math.min(10, Math.max(2, Math.ceil(300 / validated)));
}

/**
 * "Simpler" on a tie of score and spread: propagation (hard clamping, no alpha) before spreading before the
 * classifiers; unscaled before standardised; a smoother graph (more neighbours) and less spreading (alpha 0.2)
 * first. A stated order of the settings' complexity, not the grid's listing order.
 */
function complexity(setting: AutoSetting): number[] {
  const method = ['label-propagation', 'label-spreading', 'self-training', 'co-training'].indexOf(setting.method);
  return [method, setting.scale === 'none' ? 0 : 1, -(setting.neighbors ?? 0), setting.alpha ?? 0];
}

/** Scores this close are equal: sums of the same hits in another order differ in the last bits. */
const TIE = 1e-9;

/**
 * Best first: lower mean Brier score, then higher mean accuracy, then smaller spread, then the simpler setting.
 * Ranking by a proper score (Gneiting & Raftery 2007) rather than accuracy: with 10 to 36 held-out labels many
 * settings tie on accuracy, while the probabilities they gave the truth still differ (issue 18: ranked by Brier,
 * auto's gap to the per-draw best candidate on the quality bench's iris draws fell from 4.5 to 2.7 points).
 */
export function compareCandidates(a: AutoCandidate, b: AutoCandidate): number {
  if (Math.abs(a.brier - b.brier) > TIE) return a.brier - b.brier;
  if (Math.abs(a.score - b.score) > TIE) return b.score - a.score;
  if (Math.abs(a.spread - b.spread) > TIE) return a.spread - b.spread;
  const ca = complexity(a);
  const cb = complexity(b);
  for (let i = 0; i < ca.length; i++) if (ca[i] !== cb[i]) return ca[i] - cb[i];
  return 0;
}

/**
 * The setting auto keeps unless cross-validation shows another clearly better: self-training on standardised
 * features. Its classifier does not depend on the features' units, and where no pseudo label is confident it is
 * the supervised classifier itself, so its failure is bounded by learning from the given labels alone; the graph
 * methods rest on the cluster assumption, which fails silently (issue 18: 57% on wine unscaled).
 */
export const AUTO_FALLBACK: AutoSetting = { method: 'self-training', scale: 'standard' };

/** How many standard errors of the paired difference the chosen setting must beat the fallback by to replace it. */
export const AUTO_MARGIN = 2;

/**
 * A candidate ties with the best when its paired Brier difference from it is within half a standard error (the
 * labels cannot tell them apart), or under 0.01 (half a percent of the score's 0-2 range: settings sure of every
 * held-out label differ only in the last digits of their probabilities, with a standard error as small).
 * Chosen on the rule study's draws and checked on tuning draws with other seeds (bench/RESULTS.md, issue 18).
 */
export const AUTO_TIE = { standardErrors: 0.5, brier: 0.01 } as const;

function isFallback(setting: AutoSetting): boolean {
  return setting.method === AUTO_FALLBACK.method && setting.scale === AUTO_FALLBACK.scale;
}

/**
 * The paired difference of two settings' Brier scores on the same validated labels (each label's score summed over
 * `repeats`): the other's (the fallback's, the best's) minus this setting's, so that positive means this setting is
 * better.
 */
export function pairedDifference(brier: Float64Array, otherBrier: Float64Array, repeats: number): PairedDifference {
  const n = brier.length;
  let sum = 0;
  for (let q = 0; q < n; q++) sum += otherBrier[q] - brier[q];
  const difference = sum / n / repeats;
  let squares = 0;
  for (let q = 0; q < n; q++) squares += ((otherBrier[q] - brier[q]) / repeats - difference) ** 2;
  return { difference, standardError: n > 1 ? Math.sqrt(squares / (n - 1) / n) : Number.POSITIVE_INFINITY };
}

/**
 * Brier score of row `row` of a distribution matrix (n x k) for the true class: sum over classes of (p_c - [c =
 * truth])^2 with p the row normalised to sum 1 (Brier 1950; label spreading's rows do not sum to 1). A row of zeros
 * (no label reached it) says nothing and counts as uniform: 1 - 1/k.
 */
export function brierScore(probabilities: Float64Array, row: number, k: number, truth: number): number {
  let total = 0;
  for (let c = 0; c < k; c++) total += probabilities[row * k + c];
  if (!(total > 0)) return 1 - 1 / k;
  let score = 0;
  for (let c = 0; c < k; c++) score += (probabilities[row * k + c] / total - (c === truth ? 1 : 0)) ** 2;
  return score;
}

/** The most probable class of each row (ties to the first), UNLABELLED where the row is all zero (unreached). */
export function labelsFromProbabilities(probabilities: Float64Array, k: number): Int32Array {
  const n = probabilities.length / k;
  const labels = new Int32Array(n).fill(UNLABELLED);
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let c = 0; c < k; c++) total += probabilities[i * k + c];
    if (total > 0) labels[i] = argmaxRow(probabilities, i, k);
  }
  return labels;
}

/** Whether a candidate ties with the best-ranked one (AUTO_TIE); the best ties with itself. */
export function tiesWithBest(candidate: AutoCandidate): boolean {
  if (candidate.versusBest === undefined) return true;
  const { difference, standardError } = candidate.versusBest;
  return -difference <= Math.max(AUTO_TIE.standardErrors * standardError, AUTO_TIE.brier);
}

/**
 * The candidates tied with the best (tiesWithBest), the one whose labels for the unlabelled rows agree most with
 * the consensus of all candidates first (equal agreement: rank order). Cross-validation on 10 to 40 labels cannot
 * tell such settings apart; the unlabelled rows are free, and a setting that labels them as most others do is
 * less likely to be one whose lead came from the luck of a few held-out labels (model selection by agreement,
 * Platanios, Blum & Mitchell 2014; Madani, Pennock & Flake 2004).
 */
export function topTied(candidates: readonly AutoCandidate[]): AutoCandidate[] {
  const tied = candidates.filter(tiesWithBest);
  return tied
    .map((c, rank) => ({ c, rank }))
    .sort((a, b) => b.c.agreement - a.c.agreement || a.rank - b.rank)
    .map(({ c }) => c);
}

/**
 * The choice from the ranked candidates: of those tied with the best Brier score, the one agreeing most with
 * the others on the unlabelled rows (topTied), unless its paired advantage over AUTO_FALLBACK on the same
 * validated labels is no more than AUTO_MARGIN standard errors, in which case the fallback. With 10 to 36 labels
 * the top of 20 noisy scores is mostly luck (the winner's curse: the maximum of noisy estimates is biased upwards),
 * so the safer setting stays unless the data tell them apart (the one-standard-error rule of Breiman et al. 1984
 * and Hastie, Tibshirani & Friedman, The Elements of Statistical Learning, 7.10, made a paired test: both settings
 * are scored on the same labels and folds, so most of the noise is common to both and cancels).
 */
export function chooseCandidate(candidates: readonly AutoCandidate[]): AutoCandidate {
  const pick = topTied(candidates)[0];
  const fallback = candidates.find(isFallback);
  if (fallback === undefined || fallback === pick || pick.versusFallback === undefined) return pick;
  const { difference, standardError } = pick.versusFallback;
  return difference > 0 && difference > AUTO_MARGIN * standardError ? pick : fallback;
}

/**
 * Per setting, the share of the unlabelled rows where its label equals the consensus: the most probable class of
 * the average of all settings' class probabilities (each row normalised to sum 1; a row a setting reached with no
 * label counts as uniform, and the setting's own label there is none, so it disagrees). `probabilities[s]` is
 * setting s's n x k matrix, trained on every given label. With no unlabelled row every setting agrees fully.
 */
export function agreementWithConsensus(probabilities: readonly Float64Array[], y: Int32Array, k: number) {
  const agreeing = new Float64Array(probabilities.length);
  const mean = new Float64Array(k);
  const own = new Int32Array(probabilities.length);
  let rows = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== UNLABELLED) continue;
    rows++;
    mean.fill(0);
    probabilities.forEach((p, s) => {
      let total = 0;
      for (let c = 0; c < k; c++) total += p[i * k + c];
      own[s] = total > 0 ? argmaxRow(p, i, k) : UNLABELLED;
      for (let c = 0; c < k; c++) mean[c] += total > 0 ? p[i * k + c] / total : 1 / k;
    });
    const consensus = argmaxRow(mean, 0, k);
    for (let s = 0; s < own.length; s++) if (own[s] === consensus) agreeing[s]++;
  }
  return { agreement: Array.from(agreeing, (a) => (rows > 0 ? a / rows : 1)), rows };
}

/** The first k entries of each row's list (lists are sorted by distance): the k-graph from the 20-graph. */
export function truncateLists(lists: KnnResult, k: number): KnnResult {
  const indices = new Int32Array(lists.n * k);
  const distances = new Float64Array(lists.n * k);
  for (let i = 0; i < lists.n; i++) copySlots(lists, i * lists.k, { indices, distances }, i * k, k);
  return { n: lists.n, k, indices, distances };
}

/**
 * A setting's class probabilities for every row (n x k, row-major), trained on trainingY: a classifier's
 * probabilities, or the propagated label distributions (a row of zeros where no label reached).
 */
export type Predictor = (trainingY: Int32Array) => Float64Array;

/** The rows under each of auto's scales, with their kNN graphs for every k of the grid. */
export type ScaledGraphs = Map<
  string,
  { X: FeatureMatrix; graphs: Map<number, ReturnType<typeof connectivityFromNeighbors>> }
>;

/** One predictor per setting over the rows X (graphs built once per scale; the quality benchmark uses them too). */
export function predictorsFor(
  settings: readonly AutoSetting[],
  X: FeatureMatrix,
  k: number,
  standard: FeatureScaling,
  options: RunOptions,
  views: readonly [readonly number[], readonly number[]] | undefined,
): Predictor[] {
  return predictorsOver(settings, scaledGraphs(X, standard), k, options, views);
}

/** The rows X under each scale and their graphs: one k = 20 search per scale, truncated for the smaller k. */
export function scaledGraphs(X: FeatureMatrix, standard: FeatureScaling): ScaledGraphs {
  const byScale: ScaledGraphs = new Map();
  for (const scale of AUTO_SCALES) {
    const data = Float64Array.from(X.data);
    if (scale === 'standard') scaleInPlace(data, X.d, standard);
    const scaled = { data, n: X.n, d: X.d };
    // One k = 20 search per scale, truncated for the smaller k (lists are sorted by distance, then index).
    const widest = knnSelfSearch(scaled, Math.min(Math.max(...AUTO_NEIGHBORS), X.n));
    const graphs = new Map(
      AUTO_NEIGHBORS.filter((n) => n <= widest.k).map((n) => [n, connectivityFromNeighbors(truncateLists(widest, n))]),
    );
    byScale.set(scale, { X: scaled, graphs });
  }
  return byScale;
}

/** One predictor per setting over graphs already built (scaledGraphs): the rule study reuses them across draws. */
export function predictorsOver(
  settings: readonly AutoSetting[],
  byScale: ScaledGraphs,
  k: number,
  options: RunOptions,
  views: readonly [readonly number[], readonly number[]] | undefined,
): Predictor[] {
  const quiet = () => {};
  return settings.map((setting) => {
    const { X: scaled, graphs } = byScale.get(setting.scale)!;
    if (setting.method === 'self-training') {
      const selfTraining = { ...options, method: 'self-training' as const };
      return (trainingY) => {
        const model = new SelfTraining({
          threshold: effectiveThreshold(selfTraining),
          criterion: options.criterion,
          kBest: options.kBest,
          maxIter: effectiveMaxIter(selfTraining),
          onWarning: quiet,
        }).fit(scaled, trainingY);
        return probabilitiesOverAllClasses(model.predictProba(scaled), model.classes, k);
      };
    }
    if (setting.method === 'co-training') {
      const coTraining = { ...options, method: 'co-training' as const };
      return (trainingY) => {
        const model = new CoTraining({
          threshold: effectiveThreshold(coTraining),
          maxIter: effectiveMaxIter(coTraining),
          ...(options.perClass !== undefined ? { perClass: options.perClass } : {}),
          ...(views ? { views } : {}),
          onWarning: quiet,
        }).fit(scaled, trainingY);
        return probabilitiesOverAllClasses(model.predictProba(scaled), model.classes, k);
      };
    }
    const graph = graphs.get(setting.neighbors!);
    if (graph === undefined) return () => new Float64Array(scaled.n * k);
    const runOptions: RunOptions = {
      ...options,
      method: setting.method,
      ...(setting.alpha !== undefined ? { alpha: setting.alpha } : {}),
    };
    // A copy per run: the graph transforms work in place, and the k-graph serves several settings and every fold.
    return (trainingY) => propagateOverAffinity(copyGraph(graph), trainingY, k, runOptions, quiet).probabilities;
  });
}

/**
 * `--method auto`: scores every setting of the grid by repeated stratified 3-fold cross-validation on the given
 * labels (each fold's labels hidden, the setting run on all the rows, its class probabilities on the hidden ones:
 * accuracy, an unreached row counting as wrong, and the Brier score), then once on all the given labels for its
 * agreement with the others on the unlabelled rows (what breaks a tie at the top, chooseCandidate). Returns the
 * candidates best first, or undefined when too few labels can be validated.
 */
export function searchGrid(
  X: FeatureMatrix,
  y: Int32Array,
  k: number,
  standard: FeatureScaling,
  options: RunOptions,
  views?: readonly [readonly number[], readonly number[]],
): AutoSearch | undefined {
  const first = stratifiedFolds(y, FOLDS, options.seed);
  let validated = 0;
  for (const f of first) if (f >= 0) validated++;
  if (validated < 2 * FOLDS) return undefined;
  const settings = autoGrid(views !== undefined || options.views !== undefined);
  const predictors = predictorsFor(settings, X, k, standard, options, views);
  const repeats = repeatsFor(validated);
  // Every repeat validates the same labels (stratified folds leave out only classes with fewer labels than folds).
  const validatedRows = Int32Array.from(y.keys()).filter((i) => first[i] >= 0);
  const perRepeat = settings.map(() => new Int32Array(repeats));
  // Per validated label, its Brier scores summed over the repeats (each label is held out once per repeat).
  const brier = settings.map(() => new Float64Array(validated));
  for (let r = 0; r < repeats; r++) {
    const fold = r === 0 ? first : stratifiedFolds(y, FOLDS, options.seed + r);
    for (let f = 0; f < FOLDS; f++) {
      const trainingY = Int32Array.from(y, (label, i) => (fold[i] === f ? UNLABELLED : label));
      predictors.forEach((predict, s) => {
        const probabilities = predict(trainingY);
        const predicted = labelsFromProbabilities(probabilities, k);
        validatedRows.forEach((i, q) => {
          if (fold[i] !== f) return;
          brier[s][q] += brierScore(probabilities, i, k, y[i]);
          if (predicted[i] === y[i]) perRepeat[s][r]++;
        });
      });
    }
  }
  // Every setting trained on all the given labels: its labels for the unlabelled rows, for the agreement.
  const { agreement, rows: unlabelled } = agreementWithConsensus(
    predictors.map((predict) => predict(y)),
    y,
    k,
  );
  const fallback = settings.findIndex(isFallback);
  const ranked: AutoCandidate[] = settings.map((setting, s) => {
    const scores = Array.from(perRepeat[s], (correct) => correct / validated);
    const mean = scores.reduce((a, b) => a + b, 0) / repeats;
    const variance = scores.reduce((a, b) => a + (b - mean) ** 2, 0) / repeats;
    return {
      ...setting,
      score: mean,
      spread: Math.sqrt(variance),
      brier: brier[s].reduce((a, b) => a + b, 0) / validated / repeats,
      ...(s !== fallback && fallback >= 0
        ? { versusFallback: pairedDifference(brier[s], brier[fallback], repeats) }
        : {}),
      agreement: agreement[s],
    };
  });
  const order = settings.map((_, s) => s).sort((a, b) => compareCandidates(ranked[a], ranked[b]));
  const top = order[0];
  const candidates = order.map((s) =>
    s === top ? ranked[s] : { ...ranked[s], versusBest: pairedDifference(brier[s], brier[top], repeats) },
  );
  return { folds: FOLDS, repeats, rows: X.n, validated, unlabelled, candidates, chosen: chooseCandidate(candidates) };
}

/** One line for report.json `methodReason`. */
export function describeChoice(search: AutoSearch): string {
  const best = search.candidates[0];
  const name = (c: AutoSetting) =>
    `${c.method}${c.neighbors !== undefined ? ` k=${c.neighbors}` : ''}${c.alpha !== undefined ? ` alpha=${c.alpha}` : ''}, scale ${c.scale}`;
  const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
  const scored = (c: AutoCandidate) =>
    `${name(c)} ${percent(c.score)} +/- ${percent(c.spread)} (Brier ${c.brier.toFixed(3)})`;
  const searched =
    `of ${search.candidates.length} settings in ${search.repeats} repeats of stratified ${search.folds}-fold ` +
    `cross-validation on ${search.validated} given labels (${search.rows} rows)`;
  const tied = topTied(search.candidates);
  const pick = tied[0];
  const agreeing = (c: AutoCandidate) =>
    `agrees with the consensus of the settings on ${percent(c.agreement)} of ${search.unlabelled} unlabelled rows`;
  const tie =
    tied.length > 1
      ? `${tied.length} settings tie with the best Brier score ${searched} (within ${AUTO_TIE.standardErrors} ` +
        `standard errors or ${AUTO_TIE.brier} on the same labels); of them ${scored(pick)} ${agreeing(pick)}` +
        `${tied[1] ? ` (next ${name(tied[1])}: ${percent(tied[1].agreement)})` : ''}`
      : `the best Brier score ${searched}, ${scored(pick)}`;
  if (search.chosen !== pick && pick.versusFallback) {
    const { difference, standardError } = pick.versusFallback;
    return (
      `${scored(search.chosen)}, the fallback: ${tie}, and is not below it by more than ${AUTO_MARGIN} standard ` +
      `errors on the same labels (${difference.toFixed(3)} +/- ${standardError.toFixed(3)})`
    );
  }
  if (tied.length > 1) return tie;
  const runnerUp = search.candidates[1];
  return `best Brier score ${searched}: ${scored(best)}${runnerUp ? `; next ${scored(runnerUp)}` : ''}`;
}
