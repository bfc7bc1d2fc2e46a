import type { TopLevelSpec } from 'vega-lite';
import type { ReportRecord } from '../reportRecord.ts';
import { CHART_CONFIG, PRIMARY } from './chartTheme.ts';

/**
 * What changed against the dataset's previous version: the histogram of the confidence shift (now - before) of
 * the rows present in both versions, bins of 0.1 over [-1, 1]. Null for a run that published no version, or
 * whose version is the dataset's first (no row to compare).
 */
export function changesChart(report: ReportRecord): TopLevelSpec | null {
  const changes = report.changes;
  if (changes === undefined || changes.previousVersion === undefined) return null;
  const bins = changes.confidenceShift.histogram.length;
  const values = changes.confidenceShift.histogram.map((count, b) => ({
    from: -1 + (2 * b) / bins,
    to: -1 + (2 * (b + 1)) / bins,
    count,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Confidence shift of the rows kept since the previous version',
    config: CHART_CONFIG,
    data: { values },
    width: 420,
    height: 140,
    mark: { type: 'bar', color: PRIMARY, binSpacing: 1 },
    encoding: {
      x: {
        field: 'from',
        type: 'quantitative',
        bin: { binned: true },
        title: 'confidence now - confidence in the previous version',
        scale: { domain: [-1, 1] },
        axis: { format: '.1f', tickCount: 10 },
      },
      x2: { field: 'to' },
      y: { field: 'count', type: 'quantitative', title: 'rows' },
    },
  };
}
