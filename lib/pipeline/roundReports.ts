import { type RowOutcome, SOURCE, SOURCES, type Source } from './rowOutcome.ts';
import type { RoundReport } from './runReport.ts';

const HISTOGRAM_BINS = 20;

/**
 * Per-round counts for report.json: after round r, every row labelled in a round <= r counts under its source
 * and class; `none` counts the rest under the class they would get (or "" when they have none).
 */
export function roundReports(outcome: RowOutcome, classes: readonly string[]): RoundReport[] {
  let lastRound = 0;
  for (let i = 0; i < outcome.round.length; i++) lastRound = Math.max(lastRound, outcome.round[i]);
  const reports: RoundReport[] = [];
  for (let r = 0; r <= lastRound; r++) {
    const counts = Object.fromEntries(SOURCES.map((s) => [s, {} as Record<string, number>])) as Record<
      Source,
      Record<string, number>
    >;
    const histogram = new Array<number>(HISTOGRAM_BINS).fill(0);
    let added = 0;
    for (let i = 0; i < outcome.label.length; i++) {
      const labelledByNow = outcome.round[i] >= 0 && outcome.round[i] <= r;
      const source = labelledByNow ? SOURCES[outcome.source[i]] : 'none';
      const name = outcome.label[i] >= 0 ? classes[outcome.label[i]] : '';
      counts[source][name] = (counts[source][name] ?? 0) + 1;
      if (outcome.round[i] === r) added++;
      if (labelledByNow && outcome.source[i] !== SOURCE.none) {
        histogram[Math.min(HISTOGRAM_BINS - 1, Math.floor(outcome.confidence[i] * HISTOGRAM_BINS))]++;
      }
    }
    reports.push({ round: r, added, counts, confidenceHistogram: histogram });
  }
  return reports;
}
