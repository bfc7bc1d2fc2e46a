import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { defaultNlist } from '../../graph/ivf/ivfModel.ts';
import { calibrationSeed, inIvfSample, ivfCalibrationRate, ivfSampleRate } from '../../graph/ivf/ivfSample.ts';
import { CALIBRATION_QUERIES } from '../../graph/ivf/nprobeCalibration.ts';
import type { IvfTrainingObject } from './ivfObjects.ts';
import { trainFromSamples } from './ivfTraining.ts';

/**
 * The IVF samples drawn during collect's one read of the shards, before the row count is final. The samples
 * are the rows whose hash of the global index falls below a rate that depends on n (ivfSample.ts), and n is
 * known only once every duplicate id is dropped; so the rows below a higher rate, from a lower bound on n (90%
 * of the rows ingested), are kept, and `train` takes those below the final rate: the same samples, and the
 * same model, as trainRunIvf's second read of every shard. Where more than a tenth of the rows were duplicates
 * the bound fails and `train` returns undefined (the caller then reads the shards again).
 */
export class IvfSampleCandidates {
  private readonly sampleRate: number;
  private readonly queryRate: number;
  private readonly samples: RowsBuffer;
  private readonly queries: RowsBuffer;

  constructor(
    ingestedRows: number,
    d: number,
    private readonly seed: number,
  ) {
    const low = Math.max(1, Math.floor(0.9 * ingestedRows));
    // 1.25: defaultNlist rounds, so the rate is not quite monotone in n; `train` checks the bound anyway.
    this.sampleRate = Math.min(1, 1.25 * ivfSampleRate(low, defaultNlist(low)));
    this.queryRate = ivfCalibrationRate(low, CALIBRATION_QUERIES);
    this.samples = new RowsBuffer(d, expectedRows(this.sampleRate * ingestedRows));
    this.queries = new RowsBuffer(d, expectedRows(this.queryRate * ingestedRows));
  }

  /** Offers the row of global index `index`, features src[from .. from + d), in ascending index order. */
  offer(index: number, src: Float32Array, from: number): void {
    if (inIvfSample(index, this.sampleRate, this.seed)) this.samples.push(index, src, from);
    if (inIvfSample(index, this.queryRate, calibrationSeed(this.seed))) this.queries.push(index, src, from);
  }

  /**
   * The training object for n rows in `shards` shards, or undefined when the candidates do not cover its samples.
   * It takes the samples out of the candidates in place: call it once.
   */
  train(n: number, shards: number): IvfTrainingObject | undefined {
    const nlist = defaultNlist(n);
    const sampleRate = ivfSampleRate(n, nlist);
    const queryRate = ivfCalibrationRate(n, CALIBRATION_QUERIES);
    if (sampleRate > this.sampleRate || queryRate > this.queryRate) return undefined;
    const sample = this.samples.below(sampleRate, this.seed);
    const queries = this.queries.below(queryRate, calibrationSeed(this.seed));
    return trainFromSamples(sample, queries, n, this.seed, shards);
  }
}

/**
 * Room for the rows a hash sample of this expected size draws: a binomial count, so 4 standard deviations over
 * the mean almost never needs a second buffer (the buffer still grows past it). Presized, collect's candidates
 * take their own size, not up to twice it and a copy while doubling (issue 16: collect's memory).
 */
function expectedRows(mean: number): number {
  return Math.ceil(mean + 4 * Math.sqrt(mean) + 16);
}

/** Rows with their global indices, appended in index order. */
class RowsBuffer {
  private data: Float32Array;
  private indices: Int32Array;
  private n = 0;

  constructor(
    private readonly d: number,
    expected: number,
  ) {
    this.data = new Float32Array(expected * d);
    this.indices = new Int32Array(expected);
  }

  push(index: number, src: Float32Array, from: number): void {
    const { d } = this;
    if (this.n === this.indices.length) {
      const capacity = Math.max(1024, 2 * this.n);
      const data = new Float32Array(capacity * d);
      data.set(this.data);
      const indices = new Int32Array(capacity);
      indices.set(this.indices);
      this.data = data;
      this.indices = indices;
    }
    this.data.set(src.subarray(from, from + d), this.n * d);
    this.indices[this.n++] = index;
  }

  /**
   * The rows whose index is in the sample of this rate and seed (inIvfSample), in index order: moved to the front
   * of the buffer (no copy of the sample), so the buffer holds them only after.
   */
  below(rate: number, seed: number): FeatureMatrix {
    const { d, data } = this;
    let kept = 0;
    for (let r = 0; r < this.n; r++) {
      if (!inIvfSample(this.indices[r], rate, seed)) continue;
      if (kept !== r) {
        data.copyWithin(kept * d, r * d, r * d + d);
        this.indices[kept] = this.indices[r];
      }
      kept++;
    }
    this.n = kept;
    return { data: data.subarray(0, kept * d), n: kept, d };
  }
}
