import type { TopLevelSpec } from 'vega-lite';
import type { ReportRecord } from '../reportRecord.ts';
import { ACCENT, CHART_CONFIG, PRIMARY } from './chartTheme.ts';

/**
 * Confidence of the labelled rows after each round: the report's histogram (bins of equal width over [0, 1])
 * as one small bar chart per round, sharing the y scale, with the selection threshold as a dashed rule.
 * Null when no round has a histogram.
 */
export function confidenceChart(report: ReportRecord): TopLevelSpec | null {
  const values: { round: string; roundIndex: number; from: number; to: number; count: number }[] = [];
  for (const round of report.rounds) {
    const bins = round.confidenceHistogram.length;
    round.confidenceHistogram.forEach((count, b) => {
      values.push({
        round: `round ${round.round}`,
        roundIndex: round.round,
        from: b / bins,
        to: (b + 1) / bins,
        count,
      });
    });
  }
  if (values.length === 0) return null;
  const rounds = new Set(values.map((v) => v.roundIndex)).size;
  const threshold = report.parameters.threshold;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Histogram of the confidence of the labelled rows after each round',
    config: CHART_CONFIG,
    data: { values },
    facet: { field: 'round', type: 'ordinal', title: null, sort: { field: 'roundIndex', op: 'min' } },
    columns: Math.min(rounds, 4),
    spacing: { row: 16, column: 18 },
    spec: {
      width: 200,
      height: 110,
      layer: [
        {
          mark: { type: 'bar', color: PRIMARY, binSpacing: 1 },
          encoding: {
            x: {
              field: 'from',
              type: 'quantitative',
              bin: { binned: true },
              title: 'confidence',
              scale: { domain: [0, 1] },
              axis: { format: '.1f', tickCount: 5 },
            },
            x2: { field: 'to' },
            y: { field: 'count', type: 'quantitative', title: 'rows' },
          },
        },
        {
          // One rule per round: keep one row (the first bin) of each facet.
          transform: [{ filter: 'datum.from === 0' }],
          mark: { type: 'rule', color: ACCENT, strokeDash: [4, 3], strokeWidth: 1.5 },
          encoding: { x: { datum: threshold, type: 'quantitative' } },
        },
      ],
    },
  };
}
