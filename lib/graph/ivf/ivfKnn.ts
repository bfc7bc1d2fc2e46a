import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import type { KnnResult } from '../knnSearch.ts';
import { buildIvfCells, ivfCellSizes } from './ivfIndex.ts';
import { defaultNlist, type IvfModel } from './ivfModel.ts';
import {
  calibrationSeed,
  ivfCalibrationRate,
  ivfSampleRate,
  ivfSampleRows,
  SAMPLE_ROWS_PER_CELL,
} from './ivfSample.ts';
import { ivfSearch } from './ivfSearch.ts';
import { type IvfTrainOptions, trainIvf } from './ivfTrain.ts';
import { CALIBRATION_QUERIES, calibrateNprobe, calibrationPartial } from './nprobeCalibration.ts';
import { firstCells, nearestCells, probeCells } from './probeCells.ts';

/**
 * Approximate kNN of every row of X among all rows, in one process: the sharded steps (sample, train,
 * calibrate nprobe, build the inverted lists, search) run back to back, with one shard. The same lists as
 * running them over any number of shards.
 */
export interface IvfKnnOptions extends Omit<IvfTrainOptions, 'n'> {
  /** Recall@k the calibrated nprobe aims at (when nprobe is not given). Default 0.95. */
  readonly targetRecall?: number;
  /** Training rows per cell. Default SAMPLE_ROWS_PER_CELL. */
  readonly samplePerCell?: number;
  /** Calibration queries (about). Default CALIBRATION_QUERIES. */
  readonly calibrationQueries?: number;
}

export interface IvfKnn {
  readonly result: KnnResult;
  readonly model: IvfModel;
  readonly sampleRows: number;
  readonly kmeansIter: number;
  /** Estimated recall@k for nprobe = 1 .. nlist (absent when nprobe was given). */
  readonly recallCurve?: Float64Array;
  /** Milliseconds: sampling and k-means, calibration, probe lists and inverted lists, search. */
  readonly ms: { readonly train: number; readonly calibrate: number; readonly build: number; readonly search: number };
}

export const DEFAULT_TARGET_RECALL = 0.95;

export function ivfKnn(X: FeatureMatrix, k: number, options: IvfKnnOptions = {}): IvfKnn {
  const { samplePerCell = SAMPLE_ROWS_PER_CELL, seed = 0, targetRecall = DEFAULT_TARGET_RECALL } = options;
  const { calibrationQueries = CALIBRATION_QUERIES } = options;
  if (!Number.isInteger(k) || k < 1 || k > X.n) throw new RangeError(`cannot find k=${k} neighbours among ${X.n} rows`);
  const t0 = performance.now();
  const nlist = options.nlist ?? defaultNlist(X.n);
  const sample = ivfSampleRows(X, 0, ivfSampleRate(X.n, nlist, samplePerCell), seed);
  const training = trainIvf(sample.X, { ...options, n: X.n, nlist: Math.min(nlist, sample.X.n) });
  let { model } = training;
  const t1 = performance.now();
  let recallCurve: Float64Array | undefined;
  if (options.nprobe === undefined) {
    const queries = ivfSampleRows(X, 0, ivfCalibrationRate(X.n, calibrationQueries), calibrationSeed(seed)).X;
    const lists = calibrationPartial(model, queries, X, 0, k);
    ({ model, recallCurve } = calibrateNprobe(model, queries, lists, targetRecall));
  }
  const t2 = performance.now();
  // As the cells task does: one search for each row's nearest cells gives its cell (the first) and its probes.
  const nearest = nearestCells(model, X, model.nprobe);
  const cells = buildIvfCells(model, X, 0, firstCells(nearest));
  const { probes } = probeCells(model, X, { minMembers: k, cellSizes: ivfCellSizes([cells]), nearest });
  const t3 = performance.now();
  const result = ivfSearch(X, probes, [cells], k);
  const t4 = performance.now();
  return {
    result,
    model,
    sampleRows: sample.X.n,
    kmeansIter: training.kmeansIter,
    recallCurve,
    ms: { train: t1 - t0, calibrate: t2 - t1, build: t3 - t2, search: t4 - t3 },
  };
}
