import type { TopLevelSpec } from 'vega-lite';
import { SOURCES } from '../../pipeline/rowOutcome.ts';
import type { RunReport } from '../../pipeline/runReport.ts';
import { CHART_CONFIG, SOURCE_COLORS } from './chartTheme.ts';

/** The facet of rows that have no class at all (counts key ""): unreached by propagation. */
export const NO_LABEL = '(no label)';

/**
 * Rows per class after each round, stacked by source (given, propagated, pseudo, none): one small bar chart
 * per class with the rounds on x, so a reader sees each class grow and where its labels came from.
 * Classes keep the report's order; count keys that are not classes follow it. Null without rounds.
 */
export function labelsChart(report: RunReport): TopLevelSpec | null {
  if (report.rounds.length === 0) return null;
  const order = new Map<string, number>(report.classes.map((name, i) => [name, i]));
  const values: {
    round: string;
    roundIndex: number;
    className: string;
    classIndex: number;
    source: string;
    sourceIndex: number;
    count: number;
  }[] = [];
  for (const round of report.rounds) {
    SOURCES.forEach((source, sourceIndex) => {
      for (const [name, count] of Object.entries(round.counts[source] ?? {})) {
        if (count <= 0) continue;
        if (!order.has(name)) order.set(name, order.size);
        const className = name === '' ? NO_LABEL : name;
        values.push({
          round: String(round.round),
          roundIndex: round.round,
          className,
          classIndex: order.get(name)!,
          source,
          sourceIndex,
          count,
        });
      }
    });
  }
  if (values.length === 0) return null;
  const facets = new Set(values.map((v) => v.classIndex)).size;
  // As few rows as 5 columns allow, then the columns balanced over those rows (6 classes: 2 rows of 3).
  const columns = Math.ceil(facets / Math.ceil(facets / 5));
  const width = Math.max(90, Math.min(200, Math.floor(900 / columns) - 50));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Rows per class after each round, stacked by label source',
    config: CHART_CONFIG,
    data: { values },
    facet: {
      field: 'className',
      type: 'nominal',
      title: null,
      sort: { field: 'classIndex', op: 'min' },
    },
    columns,
    spacing: { row: 16, column: 14 },
    spec: {
      width,
      height: 140,
      mark: { type: 'bar', cornerRadiusEnd: 1 },
      encoding: {
        x: {
          field: 'round',
          type: 'ordinal',
          title: 'round',
          sort: { field: 'roundIndex', op: 'min' },
          axis: { labelAngle: 0 },
        },
        y: { field: 'count', type: 'quantitative', aggregate: 'sum', title: 'rows', stack: 'zero' },
        color: {
          field: 'source',
          type: 'nominal',
          title: 'label source',
          scale: { domain: [...SOURCES], range: SOURCES.map((s) => SOURCE_COLORS[s]) },
        },
        order: { field: 'sourceIndex', type: 'quantitative', sort: 'ascending' },
      },
    },
  };
}
