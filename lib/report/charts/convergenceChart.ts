import type { TopLevelSpec } from 'vega-lite';
import type { ReportRecord } from '../reportRecord.ts';
import { ACCENT, CHART_CONFIG, PRIMARY } from './chartTheme.ts';

/**
 * Change of the label distributions per iteration (convergence.deltas) with the tolerance as a dashed rule.
 * The y scale is logarithmic when every delta is positive (a log scale cannot show 0), linear otherwise.
 * Null when the method recorded no iterations (self-training and co-training have rounds instead).
 */
export function convergenceChart(report: ReportRecord): TopLevelSpec | null {
  const deltas = report.convergence.deltas;
  if (deltas.length === 0) return null;
  const values = deltas.map((delta, i) => ({ iteration: i + 1, delta }));
  const log = deltas.every((delta) => delta > 0);
  const tol = report.parameters.tol;
  const showTol = log ? tol > 0 : true;
  // A log axis labels every 1..9 multiple; label the powers of ten only (covering the tolerance as well).
  const low = Math.min(...deltas, showTol && tol > 0 ? tol : Number.POSITIVE_INFINITY);
  const high = Math.max(...deltas);
  const powers: number[] = [];
  if (log) for (let e = Math.floor(Math.log10(low)); e <= Math.ceil(Math.log10(high)); e++) powers.push(10 ** e);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Change of the label distributions per iteration',
    config: CHART_CONFIG,
    width: 520,
    height: 200,
    layer: [
      {
        data: { values },
        mark: {
          type: 'line',
          color: PRIMARY,
          strokeWidth: 2,
          point: deltas.length <= 60 ? { size: 28, filled: true, color: PRIMARY } : false,
        },
        encoding: {
          x: {
            field: 'iteration',
            type: 'quantitative',
            title: 'iteration',
            scale: { domainMin: 1, nice: false },
            axis: { tickMinStep: 1, format: 'd' },
          },
          y: {
            field: 'delta',
            type: 'quantitative',
            title: log ? 'change (log scale)' : 'change',
            scale: log ? { type: 'log' } : { zero: true },
            axis: log ? { values: powers, format: '.0e' } : { format: '~g' },
          },
        },
      },
      ...(showTol
        ? [
            {
              data: { values: [{ tol, label: `tol ${tol}` }] },
              layer: [
                {
                  mark: { type: 'rule' as const, color: ACCENT, strokeDash: [4, 3], strokeWidth: 1.5 },
                  encoding: { y: { field: 'tol', type: 'quantitative' as const } },
                },
                {
                  mark: {
                    type: 'text' as const,
                    color: ACCENT,
                    align: 'right' as const,
                    dy: -6,
                    x: 'width' as const,
                    fontSize: 11,
                  },
                  encoding: { y: { field: 'tol', type: 'quantitative' as const }, text: { field: 'label' } },
                },
              ],
            },
          ]
        : []),
    ],
  };
}
