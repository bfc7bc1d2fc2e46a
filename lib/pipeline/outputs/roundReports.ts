import { type RowOutcome, SOURCE, SOURCES, type Source, type SourceCounts } from './rowOutcome.ts';
import type { RoundReport } from './runReport.ts';

const HISTOGRAM_BINS = 20;

/**
 * What the per-round counts of report.json need from a part of the rows, bounded by rounds x sources x classes
 * (never by rows), so each shard can tally its own rows and finalize merge the tallies: per (round a row was
 * labelled in, source, class) its count and first global row (the order the report's keys appear in), and per
 * round the confidence histogram of its labelled rows.
 */
export interface RoundTally {
  readonly cells: { round: number; source: number; label: number; count: number; first: number }[];
  readonly histograms: { round: number; bins: number[] }[];
}

/** Tallies an outcome whose first row is global row `offset`. */
export function tallyRounds(outcome: RowOutcome, offset = 0): RoundTally {
  const cells = new Map<string, RoundTally['cells'][number]>();
  const histograms = new Map<number, number[]>();
  for (let i = 0; i < outcome.label.length; i++) {
    const round = outcome.round[i];
    const source = outcome.source[i];
    const label = outcome.label[i];
    const key = `${round} ${source} ${label}`;
    const cell = cells.get(key);
    if (cell) cell.count++;
    else cells.set(key, { round, source, label, count: 1, first: offset + i });
    if (round >= 0 && source !== SOURCE.none) {
      const bins = histograms.get(round) ?? new Array<number>(HISTOGRAM_BINS).fill(0);
      histograms.set(round, bins);
      bins[Math.min(HISTOGRAM_BINS - 1, Math.floor(outcome.confidence[i] * HISTOGRAM_BINS))]++;
    }
  }
  return { cells: [...cells.values()], histograms: [...histograms].map(([round, bins]) => ({ round, bins })) };
}

/** The tally of all the parts' rows together. */
export function mergeTallies(tallies: readonly RoundTally[]): RoundTally {
  const cells = new Map<string, RoundTally['cells'][number]>();
  const histograms = new Map<number, number[]>();
  for (const tally of tallies) {
    for (const { round, source, label, count, first } of tally.cells) {
      const key = `${round} ${source} ${label}`;
      const cell = cells.get(key);
      if (cell) {
        cell.count += count;
        cell.first = Math.min(cell.first, first);
      } else cells.set(key, { round, source, label, count, first });
    }
    for (const { round, bins } of tally.histograms) {
      const total = histograms.get(round) ?? new Array<number>(HISTOGRAM_BINS).fill(0);
      for (let b = 0; b < HISTOGRAM_BINS; b++) total[b] += bins[b];
      histograms.set(round, total);
    }
  }
  return { cells: [...cells.values()], histograms: [...histograms].map(([round, bins]) => ({ round, bins })) };
}

/**
 * Per-round counts for report.json: after round r, every row labelled in a round <= r counts under its source
 * and class; `none` counts the rest under the class they would get (or "" when they have none). Within each
 * source, classes appear in the order of their first row, as a pass over the rows in order would add them.
 */
export function roundReportsOf(tally: RoundTally, classes: readonly string[]): RoundReport[] {
  let lastRound = 0;
  for (const cell of tally.cells) lastRound = Math.max(lastRound, cell.round);
  const reports: RoundReport[] = [];
  for (let r = 0; r <= lastRound; r++) {
    const found = Object.fromEntries(SOURCES.map((s) => [s, new Map<string, { count: number; first: number }>()]));
    let added = 0;
    for (const cell of tally.cells) {
      const labelledByNow = cell.round >= 0 && cell.round <= r;
      const source: Source = labelledByNow ? SOURCES[cell.source] : 'none';
      const name = cell.label >= 0 ? classes[cell.label] : '';
      const entry = found[source].get(name);
      if (entry) {
        entry.count += cell.count;
        entry.first = Math.min(entry.first, cell.first);
      } else found[source].set(name, { count: cell.count, first: cell.first });
      if (cell.round === r) added += cell.count;
    }
    const counts = Object.fromEntries(
      SOURCES.filter((s) => (s !== 'carried' && s !== 'confirmed') || found[s].size > 0).map((s) => [
        s,
        Object.fromEntries([...found[s]].sort((a, b) => a[1].first - b[1].first).map(([name, e]) => [name, e.count])),
      ]),
    ) as SourceCounts;
    const histogram = new Array<number>(HISTOGRAM_BINS).fill(0);
    for (const { round, bins } of tally.histograms) {
      if (round > r) continue;
      for (let b = 0; b < HISTOGRAM_BINS; b++) histogram[b] += bins[b];
    }
    reports.push({ round: r, added, counts, confidenceHistogram: histogram });
  }
  return reports;
}

/** roundReportsOf the tally of one outcome over all rows. */
export function roundReports(outcome: RowOutcome, classes: readonly string[]): RoundReport[] {
  return roundReportsOf(tallyRounds(outcome), classes);
}
