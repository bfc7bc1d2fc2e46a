import type { RoundReport, RunReport } from '../../lib/pipeline/outputs/runReport.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';

const CLASSES = ['billing', 'bug report', 'feature request', 'account', 'shipping', 'other'];
const GIVEN = [24, 30, 18, 22, 18, 8];
/** Rows of each class; the remaining rows of N are unreached by the graph (no class at all). */
const ROWS = [2650, 3120, 1810, 2060, 1690, 720];
const N = 12_480;
const ROUNDS = 4;

/** A histogram of `total` rows over 20 bins that leans towards 1 more with every round. */
function histogram(total: number, round: number): number[] {
  const weights = Array.from({ length: 20 }, (_, b) => ((b + 1) / 20) ** (3 + 2 * round));
  const sum = weights.reduce((a, w) => a + w, 0);
  const bins = weights.map((w) => Math.floor((total * w) / sum));
  bins[19] += total - bins.reduce((a, c) => a + c, 0);
  return bins;
}

function round(r: number): RoundReport {
  const counts: RoundReport['counts'] = { given: {}, propagated: {}, pseudo: {}, none: {} };
  let labelled = 0;
  let added = 0;
  CLASSES.forEach((name, c) => {
    const rows = ROWS[c];
    const propagated = Math.round((rows - GIVEN[c]) * 0.58);
    const pseudo = Math.round((rows - GIVEN[c] - propagated) * (1 - 0.55 ** r) * 0.8);
    const previous = Math.round((rows - GIVEN[c] - propagated) * (1 - 0.55 ** Math.max(0, r - 1)) * 0.8);
    counts.given[name] = GIVEN[c];
    counts.propagated[name] = propagated;
    if (pseudo > 0) counts.pseudo[name] = pseudo;
    counts.none[name] = rows - GIVEN[c] - propagated - pseudo;
    labelled += GIVEN[c] + propagated + pseudo;
    added += r === 0 ? GIVEN[c] + propagated : pseudo - previous;
  });
  counts.none[''] = N - ROWS.reduce((a, r) => a + r, 0);
  return { round: r, added, counts, confidenceHistogram: histogram(labelled, r) };
}

/**
 * A realistic report.json of a label-spreading run with self-training rounds, a holdout, rejected rows and a
 * warning: every chart of report.html has something to draw. `overrides` replace top-level fields.
 */
export function sampleReport(overrides: Partial<RunReport> = {}): RunReport {
  const deltas = Array.from({ length: 14 }, (_, i) => 1.8 * 0.52 ** i);
  return {
    runId: 'local-3f2a9c1e-5b7d-4e08-9a61-0c4d2b8e7f15',
    method: 'label-spreading',
    methodReason: 'auto: 12,480 rows with 120 given labels over 6 classes; a sparse kNN graph fits in memory',
    // Parsed, so the fixture follows the schema's defaults as options are added.
    parameters: { ...parseRunOptions({ method: 'label-spreading', holdout: 0.2 }), maxIter: 30, threshold: 0.95 },
    n: N,
    d: 384,
    classes: CLASSES,
    given: GIVEN.reduce((a, g) => a + g, 0),
    rounds: Array.from({ length: ROUNDS }, (_, r) => round(r)),
    convergence: {
      nIter: deltas.length,
      converged: true,
      terminationReason: 'delta below tol',
      finalDelta: deltas[deltas.length - 1],
      deltas,
    },
    holdout: {
      fraction: 0.2,
      rows: 4000,
      given: 120,
      size: 24,
      supervised: { accuracy: 0.708, macroF1: 0.652 },
      semiSupervised: { accuracy: 0.833, macroF1: 0.801 },
      difference: {
        estimate: 0.125,
        low: -0.01,
        high: 0.26,
        level: 0.95,
        method: 'corrected resampled t-interval',
        splits: [0.1, 0.2, 0.05, 0.15, 0.125, 0.1, 0.2, 0.05, 0.15, 0.125],
      },
      verdict: 'cannot tell',
      givenLabelsNeeded: 560,
      helped: false,
    },
    timings: { ingest: 418, neighbors: 2312, propagate: 861, score: 143, reduce: 36, finalize: 207 },
    rejected: 3,
    rejectedSample: [
      { file: 'tickets-2024-06.csv', line: 1873, reason: 'expected 386 fields, found 385' },
      { file: 'tickets-2024-06.csv', line: 4410, reason: 'feature f117 is not a finite number: "NaN"' },
      { file: 'tickets-2024-07.csv', line: 92, reason: 'feature f3 is not a number: "0,42"' },
    ],
    warnings: ["class 'other' has only 8 given labels: its propagated labels may be unreliable"],
    ...overrides,
  };
}
