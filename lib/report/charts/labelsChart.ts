import type { TopLevelSpec } from 'vega-lite';
import { SOURCES } from '../../data/labelSource.ts';
import type { ReportRecord } from '../reportRecord.ts';
import { CHART_CONFIG, SOURCE_COLORS } from './chartTheme.ts';

/** The facet of rows that have no class at all (counts key ""): unreached by propagation. */
export const NO_LABEL = '(no label)';

/**
 * Rows per class after each round, stacked by source (given, propagated, pseudo, none, carried, confirmed): one small bar chart
 * per class with the rounds on x, so a reader sees each class grow and where its labels came from.
 * Classes keep the report's order; count keys that are not classes follow it. Null without rounds.
 */
export function labelsChart(report: ReportRecord): TopLevelSpec | null {
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
    description: string;
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
          description: `${className}, round ${round.round}: ${count} ${source}`,
        });
      }
    });
  }
  if (values.length === 0) return null;
  const facets = new Set(values.map((v) => v.classIndex)).size;
  // One row up to 7 facets, else balanced rows of at most 6 (10 classes: 2 rows of 5).
  const columns = facets <= 7 ? facets : Math.ceil(facets / Math.ceil(facets / 6));
  const width = Math.max(90, Math.min(200, Math.floor(920 / columns) - 26));
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
      // Long class names are cut to the cell width rather than widening the gaps between cells.
      header: { labelLimit: width + 20 },
    },
    columns,
    spacing: { row: 18, column: 26 },
    spec: {
      width,
      height: facets > 14 ? 100 : 140,
      mark: { type: 'bar', cornerRadiusEnd: 1 },
      encoding: {
        x: {
          field: 'round',
          type: 'ordinal',
          title: 'round',
          sort: { field: 'roundIndex', op: 'min' },
          axis: { labelAngle: 0, labelOverlap: true },
        },
        y: { field: 'count', type: 'quantitative', aggregate: 'sum', title: 'rows', stack: 'zero' },
        color: {
          field: 'source',
          type: 'nominal',
          title: 'label source',
          sort: [...SOURCES],
          scale: { domain: [...SOURCES], range: SOURCES.map((s) => SOURCE_COLORS[s]) },
        },
        // Stack from the bottom: given, propagated, pseudo, none.
        order: { field: 'sourceIndex', type: 'quantitative', sort: 'ascending' },
        description: { field: 'description', type: 'nominal' },
      },
    },
  };
}
