import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { cellRanges } from '../../graph/ivf/cellRanges.ts';
import { defaultNlist } from '../../graph/ivf/ivfModel.ts';
import { ivfCalibrationRate, ivfSampleRate } from '../../graph/ivf/ivfSample.ts';
import { trainIvf } from '../../graph/ivf/ivfTrain.ts';
import { CALIBRATION_QUERIES } from '../../graph/ivf/nprobeCalibration.ts';
import type { IvfTrainingObject } from './ivfObjects.ts';

/**
 * The rates of a run's two IVF samples for n rows: the k-means training rows (about 40 a cell) and the nprobe
 * calibration queries (about 2,000). Both are drawn by a hash of the global row index (ivfSample.ts), so the
 * model is the same for every shard count.
 */
export function ivfSampleRates(n: number): { readonly sampleRate: number; readonly queryRate: number } {
  return { sampleRate: ivfSampleRate(n, defaultNlist(n)), queryRate: ivfCalibrationRate(n, CALIBRATION_QUERIES) };
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

/** Rows of several matrices of d columns, one after the other. */
export function concatRows(parts: readonly FeatureMatrix[], d: number): FeatureMatrix {
  const n = parts.reduce((total, part) => total + part.n, 0);
  const data = new Float32Array(n * d);
  let row = 0;
  for (const part of parts) {
    data.set(part.data, row * d);
    row += part.n;
  }
  return { data, n, d };
}
