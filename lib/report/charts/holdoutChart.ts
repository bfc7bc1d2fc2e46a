import type { TopLevelSpec } from 'vega-lite';
import type { ReportRecord } from '../reportRecord.ts';
import { CHART_CONFIG, MUTED, PRIMARY } from './chartTheme.ts';

const MODELS = ['supervised only', 'semi-supervised'];

/**
 * Accuracy and macro-F1 on the held-out given labels: the classifier trained on the given labels alone against
 * the semi-supervised result, side by side per metric with the values printed on the bars. Null without holdout.
 */
export function holdoutChart(report: ReportRecord): TopLevelSpec | null {
  const holdout = report.holdout;
  if (holdout === undefined) return null;
  const values = [
    { metric: 'accuracy', model: MODELS[0], value: holdout.supervised.accuracy },
    { metric: 'accuracy', model: MODELS[1], value: holdout.semiSupervised.accuracy },
    { metric: 'macro-F1', model: MODELS[0], value: holdout.supervised.macroF1 },
    { metric: 'macro-F1', model: MODELS[1], value: holdout.semiSupervised.macroF1 },
  ];
  const x = { field: 'metric', type: 'nominal' as const, title: null, axis: { labelAngle: 0, labelFontSize: 12 } };
  const xOffset = { field: 'model', type: 'nominal' as const, sort: MODELS };
  const y = { field: 'value', type: 'quantitative' as const, title: 'on the holdout', scale: { domain: [0, 1] } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Holdout accuracy and macro-F1, supervised only against semi-supervised',
    config: CHART_CONFIG,
    data: { values },
    width: 320,
    height: 200,
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 2 },
        encoding: {
          x,
          xOffset,
          y,
          color: {
            field: 'model',
            type: 'nominal',
            title: null,
            sort: MODELS,
            scale: { domain: MODELS, range: [MUTED, PRIMARY] },
          },
        },
      },
      {
        mark: { type: 'text', dy: -7, fontSize: 11, color: '#202124' },
        encoding: { x, xOffset, y, text: { field: 'value', type: 'quantitative', format: '.3f' } },
      },
    ],
  };
}
