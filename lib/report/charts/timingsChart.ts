import type { TopLevelSpec } from 'vega-lite';
import { formatDuration } from '../format.ts';
import type { ReportRecord } from '../reportRecord.ts';
import { CHART_CONFIG, PRIMARY } from './chartTheme.ts';

/** Wall time per stage as horizontal bars in the order the stages ran, each labelled with its duration. Null without timings. */
export function timingsChart(report: ReportRecord): TopLevelSpec | null {
  const values = Object.entries(report.timings).map(([stage, ms], order) => ({
    stage,
    order,
    ms,
    label: formatDuration(ms),
  }));
  if (values.length === 0) return null;
  const y = { field: 'stage', type: 'nominal' as const, title: null, sort: { field: 'order', op: 'min' as const } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Time per stage',
    config: CHART_CONFIG,
    data: { values },
    width: 440,
    height: { step: 24 },
    layer: [
      {
        mark: { type: 'bar', color: PRIMARY, cornerRadiusEnd: 2 },
        encoding: { y, x: { field: 'ms', type: 'quantitative', title: 'milliseconds', scale: { zero: true } } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11, color: '#202124' },
        encoding: { y, x: { field: 'ms', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
}
