import { describe, expect, it } from 'vitest';
import { featureMatrix } from '../../lib/data/featureMatrix.ts';
import { defaultNlist } from '../../lib/graph/ivf/ivfModel.ts';
import { calibrationSeed, ivfCalibrationRate, ivfSampleRate, ivfSampleRows } from '../../lib/graph/ivf/ivfSample.ts';
import { CALIBRATION_QUERIES } from '../../lib/graph/ivf/nprobeCalibration.ts';
import { seededUniform } from '../../lib/linalg/seededRandom.ts';
import { IvfSampleCandidates } from '../../lib/pipeline/neighbors/ivfSampleCandidates.ts';
import { trainFromSamples } from '../../lib/pipeline/neighbors/ivfTraining.ts';

function randomRows(n: number, d: number, seed: number) {
  const rand = seededUniform(seed);
  const data = Float32Array.from({ length: n * d }, () => rand());
  return { data, X: featureMatrix(data, n, d) };
}

describe('IvfSampleCandidates', () => {
  it.each([
    { n: 30_000, ingested: 30_000 },
    { n: 30_000, ingested: 33_000 }, // a tenth of the ingested rows were duplicates
  ])('trains the model of the samples drawn once n is known ($n of $ingested rows)', ({ n, ingested }) => {
    // Prepare
    const { data, X } = randomRows(n, 4, 1);
    const seed = 7;
    const candidates = new IvfSampleCandidates(ingested, 4, seed);
    const sample = ivfSampleRows(X, 0, ivfSampleRate(n, defaultNlist(n)), seed).X;
    const queries = ivfSampleRows(X, 0, ivfCalibrationRate(n, CALIBRATION_QUERIES), calibrationSeed(seed)).X;

    // Act
    for (let i = 0; i < n; i++) candidates.offer(i, data, i * 4);
    const trained = candidates.train(n, 3);

    // Assess
    expect(trained).toEqual(trainFromSamples(sample, queries, n, seed, 3));
    expect(trained?.queries.n).toBeGreaterThan(1000);
  });

  it('gives up when more than a tenth of the ingested rows were dropped', () => {
    // Prepare
    const { data, X } = randomRows(20_000, 4, 2);
    const candidates = new IvfSampleCandidates(40_000, 4, 0);

    // Act
    for (let i = 0; i < X.n; i++) candidates.offer(i, data, i * 4);

    // Assess
    expect(candidates.train(X.n, 3)).toBeUndefined();
  });
});
