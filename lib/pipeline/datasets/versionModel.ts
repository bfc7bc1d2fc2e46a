import type { ObjectStore } from '../../adapters/objectStore.ts';
import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { type FeatureScaling, scaleInPlace } from '../../data/featureScaling.ts';
import { rangeCells } from '../../graph/ivf/cellRanges.ts';
import { ivfSearch } from '../../graph/ivf/ivfSearch.ts';
import { probeCells } from '../../graph/ivf/probeCells.ts';
import { inductiveProduct } from '../../graph/kernel.ts';
import { copySlots, emptyKnnResult, type KnnResult, knnSearch } from '../../graph/knnSearch.ts';
import { mergeTopKLists } from '../../linalg/topK.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { exactKernelFor } from '../neighbors/neighborsPlan.ts';
import { probesInRange } from '../neighbors/queryProbes.ts';
import { partCells } from '../neighbors/rangeParts.ts';
import { isGraphMethod, type RunOptions } from '../runOptions.ts';
import { type Collected, loadShardFeatures } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { MethodSummary } from '../training/methods.ts';
import type { VersionIvf } from './versionIvf.ts';

/**
 * What a dataset version keeps to label a new row without a run (`pseudolabel predict`), for the graph methods:
 * model/model.json (kernel, k, gamma, classes, feature names, scaling) and, per shard, model/<s>.bin with the
 * shard's rows' features (scaled as the run scaled them, Float32) and label distributions (Float64, rows
 * normalised: scikit-learn's label_distributions_). predict follows BaseLabelPropagation.predict_proba:
 * knn: the sum of the distributions of the k nearest training rows of each new row; rbf: the rbf-weighted sum
 * over every training row; knn-rbf: the k nearest weighted by exp(-gamma d^2); then each row normalised.
 */
export interface VersionModel {
  readonly method: 'label-spreading' | 'label-propagation';
  readonly kernel: RunOptions['kernel'];
  readonly neighbors: number;
  readonly gamma: number;
  readonly classes: string[];
  readonly featureNames: string[];
  readonly scaling?: FeatureScaling;
  /** Rows of each model part, in part order. */
  readonly parts: number[];
  readonly labelColumn: string;
  readonly idColumn: string;
  /** The run's labels format: predict writes its labels the same way. */
  readonly format: RunOptions['format'];
  /**
   * Each part's features are an object of their own (featuresFile) and the part file holds the distributions
   * only, so that a version can keep an unchanged shard's features from the version before (a hard link on disk,
   * a server-side copy on S3) instead of writing them again. Absent in models written before: a part holds both.
   */
  readonly featuresApart?: boolean;
}

export const MODEL_FILE = 'model.json';
export const partFile = (part: number) => `${String(part).padStart(5, '0')}.bin`;
export const featuresFile = (part: number) => `${String(part).padStart(5, '0')}.features.bin`;

/** New rows are labelled this many at a time: the top-k lists and the product of one batch are held. */
export const PREDICT_BATCH = 8192;

/**
 * Writes shard `shard`'s part of a graph-method run's model under `prefix`: its distributions (a copy of the
 * object propagation wrote), then its features, or a copy of `kept`: an earlier version's features object holding
 * exactly the shard's rows, unscaled (an incremental run's reused shard, as keptFeatures in datasetVersions.ts
 * names it: never in a run that scales), instead of writing them. The output
 * tasks write their shard's part, so that finalize does not write every row's features.
 */
export async function writeModelPart(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  prefix: string,
  shard: number,
  kept: string | undefined,
): Promise<void> {
  await ctx.store.concatenate(`${prefix}${partFile(shard)}`, [keys.shardDistributions(runId, shard)]);
  const features = `${prefix}${featuresFile(shard)}`;
  if (kept !== undefined) await ctx.store.concatenate(features, [kept]);
  else await ctx.store.put(features, packArrays([await loadShardFeatures(ctx, runId, shard, collected)]));
}

/**
 * Writes the model of a succeeded graph-method run under `prefix`: model.json, and the part of each shard whose
 * output task did not write it (writeModelPart; its features object, written last, is missing). `keptFeatures(s)`
 * as writeModelPart's `kept`. Returns false (and writes nothing) for methods without label distributions
 * (self-training, co-training).
 */
export async function writeVersionModel(
  ctx: StageContext,
  runId: string,
  options: RunOptions,
  collected: Collected,
  prefix: string,
  keptFeatures: (shard: number) => string | undefined = () => undefined,
): Promise<boolean> {
  const method = options.method;
  if (!isGraphMethod(method)) return false;
  const summary = await readJson<MethodSummary>(ctx.store, keys.resultSummary(runId));
  // One shard's features at a time, as the output tasks hold them.
  for (let s = 0; s < collected.shards.length; s++) {
    if (await ctx.store.exists(`${prefix}${featuresFile(s)}`)) continue;
    await writeModelPart(ctx, runId, collected, prefix, s, keptFeatures(s));
  }
  const model: VersionModel = {
    method,
    kernel: options.kernel,
    neighbors: options.neighbors,
    gamma: summary.gamma?.value ?? (typeof options.gamma === 'number' ? options.gamma : 20),
    classes: collected.classes,
    featureNames: collected.featureNames,
    ...(collected.scaling ? { scaling: collected.scaling } : {}),
    parts: collected.shards.map((shard) => shard.rows),
    labelColumn: options.labelColumn,
    idColumn: options.idColumn,
    format: options.format,
    featuresApart: true,
  };
  await ctx.store.put(`${prefix}${MODEL_FILE}`, `${JSON.stringify(model)}\n`);
  return true;
}

/** A part's label distributions, without its features when they are an object of their own. */
async function readDistributions(store: ObjectStore, prefix: string, model: VersionModel, part: number) {
  const arrays = unpackArrays(await store.get(`${prefix}${partFile(part)}`));
  return (model.featuresApart ? arrays[0] : arrays[1]) as Float64Array;
}

async function readPart(store: ObjectStore, prefix: string, model: VersionModel, part: number, d: number, k: number) {
  const arrays = unpackArrays(await store.get(`${prefix}${partFile(part)}`));
  const [data, F] = (
    model.featuresApart ? [unpackArrays(await store.get(`${prefix}${featuresFile(part)}`))[0], arrays[0]] : arrays
  ) as [Float32Array, Float64Array];
  const X: FeatureMatrix = { data, n: F.length / k, d };
  return { X, F };
}

/**
 * The class probabilities (m x classes) of new rows under a version's model. `X` holds the new rows' features,
 * unscaled (they are scaled here as the run scaled its rows). Streams the model part by part: memory is one part
 * (its shard's rows and distributions) plus the batch's lists and product, never every training row. knn reads
 * the parts twice per batch: once for the k nearest rows, once for their distributions. With `ivf` (a version
 * whose lists were approximate) the k nearest come from its IVF index instead, one cell range at a time: the
 * run's approximation, at its calibrated nprobe, for about nprobe / nlist of the distances.
 */
export async function predictProba(
  store: ObjectStore,
  prefix: string,
  model: VersionModel,
  X: FeatureMatrix,
  ivf?: VersionIvf,
) {
  const k = model.classes.length;
  const d = model.featureNames.length;
  if (X.d !== d) throw new RangeError(`the new rows have ${X.d} features, but the model was fit with ${d}`);
  const data = Float32Array.from(X.data);
  if (model.scaling) scaleInPlace(data, d, model.scaling);
  const out = new Float64Array(X.n * k);
  const offsets = model.parts.map((_, p) => model.parts.slice(0, p).reduce((a, b) => a + b, 0));
  const total = model.parts.reduce((a, b) => a + b, 0);
  const nn = model.neighbors;
  if (model.kernel !== 'rbf' && nn > total) {
    throw new RangeError(`the model has ${total} rows, fewer than its ${nn} neighbours`);
  }
  // As the run searched: the float64 kernel (scikit-learn's order of near-equal distances) for small models.
  const kernel = exactKernelFor(total);
  for (let start = 0; start < X.n; start += PREDICT_BATCH) {
    const end = Math.min(X.n, start + PREDICT_BATCH);
    const batch: FeatureMatrix = { data: data.subarray(start * d, end * d), n: end - start, d };
    const product = out.subarray(start * k, end * k);
    if (model.kernel === 'rbf') {
      for (let p = 0; p < model.parts.length; p++) {
        const { X: train, F } = await readPart(store, prefix, model, p, d, k);
        const params = { kernel: 'rbf' as const, gamma: model.gamma, nNeighbors: nn };
        const part = inductiveProduct(train, batch, params, F, k);
        for (let i = 0; i < part.length; i++) product[i] += part[i];
      }
    } else {
      const best = ivf ? await ivfNearest(ivf, batch, nn) : await exactNearest(batch);
      // A row whose probed cells hold fewer than k rows (a far outlier) is searched exactly.
      const short = ivf ? rowsWithShortLists(best) : [];
      if (short.length > 0) {
        const rows = Float32Array.from(short.flatMap((q) => Array.from(batch.data.subarray(q * d, (q + 1) * d))));
        const exact = await exactNearest({ data: rows, n: short.length, d });
        for (const [i, q] of short.entries()) copySlots(exact, i * nn, best, q * nn, nn);
      }
      for (let p = 0; p < model.parts.length; p++) {
        const F = await readDistributions(store, prefix, model, p);
        const from = offsets[p];
        const to = from + model.parts[p];
        for (let s = 0; s < best.indices.length; s++) {
          const j = best.indices[s];
          if (j < from || j >= to) continue;
          const w = model.kernel === 'knn-rbf' ? Math.exp(-model.gamma * best.distances[s]) : 1;
          const o = Math.floor(s / nn) * k;
          for (let c = 0; c < k; c++) product[o + c] += w * F[(j - from) * k + c];
        }
      }
    }
  }
  for (let o = 0; o < out.length; o += k) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += out[o + c];
    for (let c = 0; c < k; c++) out[o + c] /= sum;
  }
  return out;

  /** The k nearest over all parts, by (distance, global row index) as one search over all rows would give. */
  async function exactNearest(batch: FeatureMatrix): Promise<KnnResult> {
    let best = emptyKnnResult(batch.n, nn);
    for (let p = 0; p < model.parts.length; p++) {
      const { X: train } = await readPart(store, prefix, model, p, d, k);
      if (train.n === 0) continue;
      const found = knnSearch(batch, train, Math.min(nn, train.n), { referenceOffset: offsets[p], kernel });
      const padded = emptyKnnResult(batch.n, nn);
      for (let q = 0; q < batch.n; q++) {
        for (let j = 0; j < found.k; j++) {
          padded.distances[q * nn + j] = found.distances[q * found.k + j];
          padded.indices[q * nn + j] = found.indices[q * found.k + j];
        }
      }
      const merged = emptyKnnResult(batch.n, nn);
      mergeTopKLists(
        best.distances,
        best.indices,
        padded.distances,
        padded.indices,
        batch.n,
        nn,
        merged.distances,
        merged.indices,
      );
      best = merged;
    }
    return best;
  }
}

/**
 * The k nearest model rows of each new row by IVF (Jegou et al. 2011), over the version's index: each new row
 * is compared with the rows of its nprobe nearest cells (the nprobe the run calibrated for its own rows' recall),
 * one cell range at a time, reading only the probed cells of its cells objects, ties by lower row as in the run.
 */
async function ivfNearest(ivf: VersionIvf, batch: FeatureMatrix, k: number): Promise<KnnResult> {
  const { probes, width } = probeCells(ivf.model, batch, { nprobe: ivf.nprobe });
  const byRange = rangeCells(ivf.ranges);
  const rows = Int32Array.from({ length: batch.n }, (_, q) => q);
  let lists = emptyKnnResult(batch.n, k);
  const probed = new Uint8Array(ivf.model.nlist);
  for (const cell of probes) if (cell >= 0) probed[cell] = 1;
  for (let range = 0; range < ivf.ranges.count; range++) {
    const cells = byRange.cells.subarray(byRange.starts[range], byRange.starts[range + 1]);
    const wanted = Uint8Array.from(cells, (cell) => probed[cell]);
    if (!wanted.includes(1)) continue;
    const inRange = probesInRange(probes, width, rows, range, ivf.ranges);
    const parts = (await ivf.readRange(range, wanted)).map((part) => partCells(ivf.model, byRange, range, part));
    if (parts.length > 0) lists = ivfSearch(batch, inRange.probes, parts, k, { continuing: lists });
  }
  return lists;
}

function rowsWithShortLists({ n, k, indices }: KnnResult): number[] {
  const short: number[] = [];
  for (let q = 0; q < n; q++) if (indices[q * k + k - 1] < 0) short.push(q);
  return short;
}
