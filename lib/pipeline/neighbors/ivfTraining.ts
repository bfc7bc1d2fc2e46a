import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { cellRanges } from '../../graph/ivf/cellRanges.ts';
import { defaultNlist } from '../../graph/ivf/ivfModel.ts';
import { calibrationSeed, ivfCalibrationRate, ivfSampleRate, ivfSampleRows } from '../../graph/ivf/ivfSample.ts';
import { trainIvf } from '../../graph/ivf/ivfTrain.ts';
import { CALIBRATION_QUERIES } from '../../graph/ivf/nprobeCalibration.ts';
import { FeatureRange } from '../../linalg/int16Codes.ts';
import { type Collected, loadShardRows } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { IvfTrainingObject } from './ivfObjects.ts';

/**
 * Trains a run's IVF centroids (k-means on about 40 rows per cell), draws the nprobe calibration queries and
 * makes the run's 16-bit codes (over every row), shard by shard. Both samples are picked by a hash of the
 * global row index (ivfSample.ts), so the model is the same for every shard count; only the sample rows are
 * held, never the whole data set.
 */
export async function trainRunIvf(
  ctx: StageContext,
  runId: string,
  collected: Collected,
  seed: number,
): Promise<IvfTrainingObject> {
  const { n, d } = collected;
  const nlist = defaultNlist(n);
  const sampleRate = ivfSampleRate(n, nlist);
  const queryRate = ivfCalibrationRate(n, CALIBRATION_QUERIES);
  const samples: FeatureMatrix[] = [];
  const queries: FeatureMatrix[] = [];
  const range = new FeatureRange(d);
  for (let s = 0; s < collected.shards.length; s++) {
    const rows = await loadShardRows(ctx, runId, s, collected);
    const offset = collected.shards[s].offset;
    samples.push(ivfSampleRows(rows.X, offset, sampleRate, seed).X);
    queries.push(ivfSampleRows(rows.X, offset, queryRate, calibrationSeed(seed)).X);
    range.add(rows.X.data);
  }
  const training = trainFromSamples(concatRows(samples, d), concatRows(queries, d), n, seed, collected.shards.length);
  const codes = range.codes();
  return codes === undefined ? training : { ...training, codes };
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
