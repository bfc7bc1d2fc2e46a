import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { scaleInPlace } from '../../data/featureScaling.ts';
import { cellRanges } from '../../graph/ivf/cellRanges.ts';
import { defaultNlist } from '../../graph/ivf/ivfModel.ts';
import { calibrationSeed, inIvfSample, ivfCalibrationRate, ivfSampleRate } from '../../graph/ivf/ivfSample.ts';
import { trainIvf } from '../../graph/ivf/ivfTrain.ts';
import { CALIBRATION_QUERIES } from '../../graph/ivf/nprobeCalibration.ts';
import type { Int16Codes } from '../../linalg/int16Codes.ts';
import { type Collected, keptRows } from '../shards/collected.ts';
import { readShardRows } from '../shards/shardRowReads.ts';
import type { StageContext } from '../stageContext.ts';
import type { IvfTrainingObject } from './ivfObjects.ts';

/**
 * Trains a run's IVF centroids (k-means on about 40 rows per cell) and draws the nprobe calibration queries.
 * Both samples are picked by a hash of the global row index (ivfSample.ts), so the model is the same for every
 * shard count; only the sample rows are read (ranged reads of their bytes, scaled as loadShardRows scales
 * them), never the whole data set: about 40 nlist rows, 4% of the rows at 1M, 0.8% at 100M. `codes` (the
 * run's 16-bit codes, made by the caller from every row's range) are stored with the training.
 */
export async function trainRunIvf(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  seed: number,
  codes?: Int16Codes,
): Promise<IvfTrainingObject> {
  const { n, d } = collected;
  const nlist = defaultNlist(n);
  const sampleRate = ivfSampleRate(n, nlist);
  const queryRate = ivfCalibrationRate(n, CALIBRATION_QUERIES);
  const querySeed = calibrationSeed(seed);
  const samples: FeatureMatrix[] = [];
  const queries: FeatureMatrix[] = [];
  for (let s = 0; s < collected.shards.length; s++) {
    const { rows, offset, dropped } = collected.shards[s];
    const kept = keptRows(collected, s, rows + dropped.length);
    const picked: number[] = [];
    const inSample: boolean[] = [];
    const inQueries: boolean[] = [];
    for (let k = 0; k < rows; k++) {
      const sample = inIvfSample(offset + k, sampleRate, seed);
      const query = inIvfSample(offset + k, queryRate, querySeed);
      if (!sample && !query) continue;
      picked.push(kept[k]);
      inSample.push(sample);
      inQueries.push(query);
    }
    const data = await readShardRows(ctx, runId, s, d, picked);
    if (collected.scaling) scaleInPlace(data, d, collected.scaling);
    samples.push(rowsWhere(data, d, inSample));
    queries.push(rowsWhere(data, d, inQueries));
  }
  const training = trainFromSamples(concatRows(samples, d), concatRows(queries, d), n, seed, collected.shards.length);
  return codes === undefined ? training : { ...training, codes };
}

/** The rows r of row-major `data` where chosen[r]. */
function rowsWhere(data: Float32Array, d: number, chosen: readonly boolean[]): FeatureMatrix {
  let n = 0;
  for (const row of chosen) if (row) n++;
  const out = new Float32Array(n * d);
  let at = 0;
  chosen.forEach((row, r) => {
    if (row) out.set(data.subarray(r * d, (r + 1) * d), d * at++);
  });
  return { data: out, n, d };
}

/**
 * k-means on the sample rows of a run of n rows, with its calibration queries, and the cells split into about
 * `ranges` cell ranges of equal rows (by the sample rows in each cell), one per shard: the neighbors tasks are
 * as many as before, each searching about a shard's rows.
 */
export function trainFromSamples(
  sample: FeatureMatrix,
  queries: FeatureMatrix,
  n: number,
  seed: number,
  ranges: number,
): IvfTrainingObject {
  const { model, sampleSizes } = trainIvf(sample, { n, nlist: Math.min(defaultNlist(n), sample.n), seed });
  return { model, queries, ranges: cellRanges(model, sampleSizes, ranges) };
}

function concatRows(parts: readonly FeatureMatrix[], d: number): FeatureMatrix {
  const n = parts.reduce((total, part) => total + part.n, 0);
  const data = new Float32Array(n * d);
  let row = 0;
  for (const part of parts) {
    data.set(part.data, row * d);
    row += part.n;
  }
  return { data, n, d };
}
