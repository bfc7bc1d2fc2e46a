import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNLABELLED } from '../../lib/data/dataset.ts';
import { mergeTallies, roundReports, roundReportsOf, tallyRounds } from '../../lib/pipeline/outputs/roundReports.ts';
import { type RowOutcome, SOURCE, SOURCES } from '../../lib/pipeline/outputs/rowOutcome.ts';

function outcomeOf(rows: [label: number, confidence: number, source: number, round: number][]): RowOutcome {
  return {
    label: Int32Array.from(rows, (r) => r[0]),
    confidence: Float64Array.from(rows, (r) => r[1]),
    source: Uint8Array.from(rows, (r) => r[2]),
    round: Int32Array.from(rows, (r) => r[3]),
  };
}

describe('roundReports', () => {
  it('a propagation outcome has one round: given and propagated rows by class, unreached rows under ""', () => {
    // Prepare
    const outcome = outcomeOf([
      [0, 1, SOURCE.given, 0],
      [1, 1, SOURCE.given, 0],
      [0, 0.9, SOURCE.propagated, 0],
      [0, 0.6, SOURCE.propagated, 0],
      [UNLABELLED, 0, SOURCE.none, -1],
    ]);

    // Act
    const reports = roundReports(outcome, ['cat', 'dog']);

    // Assess
    expect(reports).toHaveLength(1);
    expect(reports[0].round).toBe(0);
    expect(reports[0].added).toBe(4);
    expect(reports[0].counts).toEqual({
      given: { cat: 1, dog: 1 },
      propagated: { cat: 2 },
      pseudo: {},
      none: { '': 1 },
    });
  });

  it('counts pseudo labels only from their round on; before it they count as none under their class', () => {
    // Prepare
    const outcome = outcomeOf([
      [0, 1, SOURCE.given, 0],
      [1, 1, SOURCE.given, 0],
      [1, 0.97, SOURCE.pseudo, 1],
      [0, 0.99, SOURCE.pseudo, 2],
      [1, 0.5, SOURCE.none, -1],
    ]);

    // Act
    const reports = roundReports(outcome, ['a', 'b']);

    // Assess
    expect(reports.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(reports.map((r) => r.added)).toEqual([2, 1, 1]);
    expect(reports[0].counts).toEqual({ given: { a: 1, b: 1 }, propagated: {}, pseudo: {}, none: { a: 1, b: 2 } });
    expect(reports[1].counts).toEqual({
      given: { a: 1, b: 1 },
      propagated: {},
      pseudo: { b: 1 },
      none: { a: 1, b: 1 },
    });
    expect(reports[2].counts).toEqual({
      given: { a: 1, b: 1 },
      propagated: {},
      pseudo: { a: 1, b: 1 },
      none: { b: 1 },
    });
  });

  it('every round counts every row exactly once', () => {
    // Prepare
    const outcome = outcomeOf([
      [0, 1, SOURCE.given, 0],
      [1, 0.96, SOURCE.pseudo, 1],
      [0, 0.98, SOURCE.pseudo, 3],
      [UNLABELLED, 0, SOURCE.none, -1],
    ]);

    // Act
    const reports = roundReports(outcome, ['x', 'y']);

    // Assess
    expect(reports).toHaveLength(4);
    for (const report of reports) {
      const total = Object.values(report.counts)
        .flatMap((byClass) => Object.values(byClass))
        .reduce((a, b) => a + b, 0);
      expect(total).toBe(4);
    }
  });

  it('bins the confidence of labelled rows in 20 bins; a confidence of 1.0 lands in the last bin', () => {
    // Prepare
    const outcome = outcomeOf([
      [0, 1, SOURCE.given, 0],
      [0, 0.999, SOURCE.propagated, 0],
      [1, 0.95, SOURCE.propagated, 0],
      [1, 0, SOURCE.propagated, 0],
      [1, 0.52, SOURCE.propagated, 0],
      [1, 0.7, SOURCE.none, -1],
    ]);

    // Act
    const [report] = roundReports(outcome, ['a', 'b']);

    // Assess
    const expected = new Array<number>(20).fill(0);
    expected[19] = 3;
    expected[0] = 1;
    expected[10] = 1;
    expect(report.confidenceHistogram).toEqual(expected);
  });

  it('a later round adds its pseudo labels to the histogram', () => {
    // Prepare
    const outcome = outcomeOf([
      [0, 1, SOURCE.given, 0],
      [1, 0.96, SOURCE.pseudo, 1],
      [1, 0.3, SOURCE.none, -1],
    ]);

    // Act
    const reports = roundReports(outcome, ['a', 'b']);

    // Assess
    expect(reports[0].confidenceHistogram.reduce((a, b) => a + b, 0)).toBe(1);
    expect(reports[1].confidenceHistogram[19]).toBe(2);
    expect(reports[1].confidenceHistogram.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('an empty outcome gives one empty round 0', () => {
    // Act
    const reports = roundReports(outcomeOf([]), ['a']);

    // Assess
    expect(reports).toEqual([
      {
        round: 0,
        added: 0,
        counts: { given: {}, propagated: {}, pseudo: {}, none: {} },
        confidenceHistogram: new Array<number>(20).fill(0),
      },
    ]);
  });
});

/** The per-row definition (a pass over the rows in order), the reference the tallies must reproduce. */
function rowByRowReports(outcome: RowOutcome, classes: readonly string[]) {
  let lastRound = 0;
  for (const round of outcome.round) lastRound = Math.max(lastRound, round);
  const reports = [];
  for (let r = 0; r <= lastRound; r++) {
    const counts: Record<string, Record<string, number>> = { given: {}, propagated: {}, pseudo: {}, none: {} };
    const histogram = new Array<number>(20).fill(0);
    let added = 0;
    for (let i = 0; i < outcome.label.length; i++) {
      const labelledByNow = outcome.round[i] >= 0 && outcome.round[i] <= r;
      const source = labelledByNow ? SOURCES[outcome.source[i]] : 'none';
      const name = outcome.label[i] >= 0 ? classes[outcome.label[i]] : '';
      counts[source][name] = (counts[source][name] ?? 0) + 1;
      if (outcome.round[i] === r) added++;
      if (labelledByNow && outcome.source[i] !== SOURCE.none) {
        histogram[Math.min(19, Math.floor(outcome.confidence[i] * 20))]++;
      }
    }
    reports.push({ round: r, added, counts, confidenceHistogram: histogram });
  }
  return reports;
}

describe('round tallies per part', () => {
  it('merged tallies of any split into parts give the report of all rows, keys in the same order', () => {
    // Prepare: outcomes of up to 3 rounds over 4 classes, split at arbitrary points
    const row = fc.tuple(
      fc.integer({ min: -1, max: 3 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: -1, max: 3 }),
    );
    const classes = ['9', 'b', '10', 'a'];
    fc.assert(
      fc.property(fc.array(row, { maxLength: 60 }), fc.array(fc.nat(60)), (rows, cuts) => {
        const outcome = outcomeOf(rows);
        const bounds = [0, ...cuts.map((c) => c % (rows.length + 1)).sort((a, b) => a - b), rows.length];

        // Act
        const parts = bounds.slice(1).map((end, p) => {
          const start = bounds[p];
          const slice = outcomeOf(rows.slice(start, end));
          return tallyRounds(slice, start);
        });
        const merged = roundReportsOf(mergeTallies(parts.reverse()), classes);

        // Assess
        expect(JSON.stringify(merged)).toBe(JSON.stringify(rowByRowReports(outcome, classes)));
        expect(JSON.stringify(roundReports(outcome, classes))).toBe(JSON.stringify(rowByRowReports(outcome, classes)));
      }),
      { numRuns: 200, seed: 16 },
    );
  });
});
