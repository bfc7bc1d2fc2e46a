import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { FeatureMatrix } from '../lib/data/featureMatrix.ts';

/**
 * Deterministic benchmark data: isotropic Gaussian blobs (as scikit-learn's make_blobs), one per class. Class
 * centres are drawn from N(0, spread^2) per dimension and points from N(centre, 1), so `spread` sets the
 * overlap: the default 0.7 at d=64, 10 classes, 0.1% labels and n=20,000 gives scikit-learn's LabelSpreading
 * (knn, 10 neighbours) an accuracy of 0.88 (0.6: 0.80; 0.8: 0.90; 0.4: 0.32).
 * The same seed and sizes give the same file (seeded PRNG, V8's fdlibm Math functions, fixed decimals).
 */
export interface BlobsOptions {
  readonly n: number;
  readonly d: number;
  readonly classes: number;
  /** Share of rows that keep their label (at least one per class). */
  readonly labelFraction: number;
  /** Standard deviation of the class centres, per dimension. */
  readonly spread?: number;
  /** Shape of the classes (see ClassShape). Default 'blobs'. */
  readonly shape?: ClassShape;
  readonly seed?: number;
}

export interface Blobs {
  /** The features as written to the CSV (rounded to 4 decimals), for in-process measurements. */
  readonly X: FeatureMatrix;
  /** True class of every row. */
  readonly truth: Int32Array;
  /** Number of rows written with their label. */
  readonly labelled: number;
}

/**
 * - blobs: points N(centre, I), centres N(0, spread^2 I): 64 dimensions of noise, the hard case for any index;
 * - mixture: points centre + B_c z + N(0, 0.1^2 I) with z ~ N(0, I_8) and a random 8 x d basis B_c per class,
 *   centres N(0, spread^2 I): low intrinsic dimension, as embeddings have (bench/knnBench.ts uses spread 2).
 */
export type ClassShape = 'blobs' | 'mixture';

/** Fills `out` (d values) with one point of class c; the class parameters are drawn on creation. */
export function classSampler(
  shape: ClassShape,
  classes: number,
  d: number,
  spread: number,
  gauss: () => number,
): (c: number, out: Float32Array | Float64Array, at?: number) => void {
  const centres = Float64Array.from({ length: classes * d }, () => spread * gauss());
  if (shape === 'blobs') {
    return (c, out, at = 0) => {
      for (let t = 0; t < d; t++) out[at + t] = centres[c * d + t] + gauss();
    };
  }
  const rank = 8;
  const bases = Float64Array.from({ length: classes * rank * d }, () => gauss() / Math.sqrt(rank));
  const z = new Float64Array(rank);
  return (c, out, at = 0) => {
    for (let r = 0; r < rank; r++) z[r] = gauss();
    for (let t = 0; t < d; t++) {
      let v = centres[c * d + t] + 0.1 * gauss();
      for (let r = 0; r < rank; r++) v += z[r] * bases[(c * rank + r) * d + t];
      out[at + t] = v;
    }
  };
}

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): uniform floats in [0, 1). */
export function sfc32(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}

/** Standard normal draws from a uniform generator (Box-Muller, both values used). */
export function normal(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

async function close(stream: ReturnType<typeof createWriteStream>): Promise<void> {
  stream.end();
  await once(stream, 'finish');
}

/**
 * Writes `dataPath` (id,label,f0..f{d-1}; unlabelled rows have an empty label) and `truthPath` (id,label for
 * every row). Rows get a random class; the first rows of each class keep their label until the class has its
 * share of `round(n * labelFraction)` (so labelled rows are a random, class-balanced sample).
 */
export async function writeBlobs(dataPath: string, truthPath: string, options: BlobsOptions): Promise<Blobs> {
  const { n, d, classes, labelFraction, spread = 0.7, seed = 0, shape = 'blobs' } = options;
  const uniform = sfc32(seed);
  const gauss = normal(uniform);
  const draw = classSampler(shape, classes, d, spread, gauss);
  const point = new Float64Array(d);
  const total = Math.max(classes, Math.round(n * labelFraction));
  const quota = Int32Array.from(
    { length: classes },
    (_, c) => Math.floor(total / classes) + (c < total % classes ? 1 : 0),
  );
  const X = new Float32Array(n * d);
  const truth = new Int32Array(n);
  const data = createWriteStream(dataPath);
  const truthFile = createWriteStream(truthPath);
  const names = Array.from({ length: d }, (_, j) => `f${j}`).join(',');
  await write(data, `id,label,${names}\n`);
  await write(truthFile, 'id,label\n');
  let labelled = 0;
  const BATCH = 1000;
  for (let start = 0; start < n; start += BATCH) {
    let lines = '';
    let truthLines = '';
    for (let i = start; i < Math.min(n, start + BATCH); i++) {
      const c = Math.min(classes - 1, Math.floor(uniform() * classes));
      truth[i] = c;
      let label = '';
      if (quota[c] > 0) {
        quota[c]--;
        labelled++;
        label = String(c);
      }
      let line = `r${i},${label}`;
      draw(c, point);
      for (let j = 0; j < d; j++) {
        const text = point[j].toFixed(4);
        X[i * d + j] = Number(text);
        line += `,${text}`;
      }
      lines += `${line}\n`;
      truthLines += `r${i},${c}\n`;
    }
    await write(data, lines);
    await write(truthFile, truthLines);
  }
  await Promise.all([close(data), close(truthFile)]);
  return { X: { data: X, n, d }, truth, labelled };
}
