import type { TopLevelSpec } from 'vega-lite';
import { SOURCES, type Source } from '../data/labelSource.ts';
import { changesChart } from './charts/changesChart.ts';
import { confidenceChart } from './charts/confidenceChart.ts';
import { convergenceChart } from './charts/convergenceChart.ts';
import { holdoutChart } from './charts/holdoutChart.ts';
import { labelsChart, NO_LABEL } from './charts/labelsChart.ts';
import { renderChartSvg } from './charts/renderChartSvg.ts';
import { timingsChart } from './charts/timingsChart.ts';
import { formatDuration, formatNumber, formatPercent } from './format.ts';
import { type Cell, escapeHtml, htmlTable } from './html.ts';
import type { ReportRecord } from './reportRecord.ts';
import { REPORT_CSS } from './reportStyles.ts';

export interface RenderReportOptions {
  /** Called with every vega-lite / vega warning; the report renders regardless. */
  readonly onChartWarning?: (chart: string, message: string) => void;
}

/** One chart section: `build` returns null when the report has nothing to draw, and `empty` says why. */
interface ChartSection {
  readonly key: string;
  readonly title: string;
  readonly note: (report: ReportRecord) => string;
  readonly build: (report: ReportRecord) => TopLevelSpec | null;
  readonly empty: string;
}

const CHARTS: readonly ChartSection[] = [
  {
    key: 'labels',
    title: 'Labels per class and round',
    note: () =>
      'Rows per class after each round, by where the label came from: given in the input, propagated through the ' +
      'kNN graph, pseudo-labelled in a self-training round, or none (below the threshold or unreached).',
    build: labelsChart,
    empty: 'No rounds were recorded.',
  },
  {
    key: 'confidence',
    title: 'Confidence per round',
    note: (r) =>
      `Confidence of every labelled row after each round (20 bins). The dashed line is the selection threshold (${escapeHtml(r.parameters.threshold)}).`,
    build: confidenceChart,
    empty: 'No confidence histogram was recorded.',
  },
  {
    key: 'convergence',
    title: 'Convergence',
    note: (r) => {
      const c = r.convergence;
      const final = c.finalDelta === null ? 'n/a' : formatNumber(c.finalDelta);
      const state = c.converged
        ? '<span class="verdict good">converged</span>'
        : '<span class="verdict bad">did not converge</span>';
      return `Change of the label distributions per iteration. ${state} after ${formatNumber(c.nIter)} iterations (${escapeHtml(c.terminationReason)}); final change ${final}, tol ${escapeHtml(r.parameters.tol)}.`;
    },
    build: convergenceChart,
    empty: 'This method records no per-iteration change (it works in rounds).',
  },
  {
    key: 'holdout',
    title: 'Holdout: did semi-supervised learning help?',
    note: (r) => {
      const h = r.holdout;
      if (h === undefined) return 'No holdout was asked for (<code>--holdout</code>).';
      const points = (x: number) => `${x > 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
      const verdict =
        h.verdict === 'helped'
          ? '<span class="verdict good">Yes: semi-supervised beat supervised only.</span>'
          : h.verdict === 'did not help'
            ? '<span class="verdict bad">No: semi-supervised did worse than supervised only.</span>'
            : `<span class="verdict">Cannot tell with ${formatNumber(h.given)} given labels (about ${formatNumber(h.givenLabelsNeeded ?? 0)} would tell).</span>`;
      const interval = h.difference
        ? ` Accuracy difference ${points(h.difference.estimate)} points, 95% interval ${points(h.difference.low)} to ${points(h.difference.high)} (${escapeHtml(h.difference.method)}).`
        : '';
      return `${verdict}${interval} Measured over ${h.difference.splits.length} stratified splits, each holding out ${formatNumber(h.size)} given labels (${formatPercent(h.fraction, 1)}) from both models, on ${formatNumber(h.rows)} rows.`;
    },
    build: holdoutChart,
    empty: 'Run with <code>--holdout 0.2</code> to compare supervised-only against semi-supervised accuracy.',
  },
  {
    key: 'changes',
    title: 'Changes against the previous version',
    note: (r) => {
      const c = r.changes;
      if (c === undefined)
        return 'This run published no dataset version (<code>--dataset</code>, or a run over incoming/).';
      if (c.previousVersion === undefined) return `The dataset's first version: ${formatNumber(c.added)} rows.`;
      const moves = c.transitions
        .slice(0, 5)
        .map((t) => `${escapeHtml(t.from ?? NO_LABEL)} → ${escapeHtml(t.to ?? NO_LABEL)}: ${formatNumber(t.rows)}`)
        .join('; ');
      return (
        `Against version ${c.previousVersion} (run <code>${escapeHtml(c.previousRunId ?? '')}</code>): ` +
        `${formatNumber(c.added)} rows added, ${formatNumber(c.removed)} removed, ${formatNumber(c.changedClass)} ` +
        `changed class${moves ? ` (${moves})` : ''}; mean confidence shift ${c.confidenceShift.mean.toFixed(3)}.`
      );
    },
    build: changesChart,
    empty: 'No rows to compare.',
  },
  {
    key: 'timings',
    title: 'Time per stage',
    note: (r) =>
      `Wall time per stage; ${formatDuration(Object.values(r.timings).reduce((a, ms) => a + ms, 0))} in all.`,
    build: timingsChart,
    empty: 'No timings were recorded.',
  },
];

/**
 * report.html: one self-contained page (inline CSS, charts as inline SVG rendered here in Node, no scripts, a
 * Content-Security-Policy that forbids every fetch), so it opens offline and from any file share. Every string
 * from the report is escaped: class names, file names and reasons are user data.
 */
export async function renderReportHtml(report: ReportRecord, options: RenderReportOptions = {}): Promise<string> {
  const charts = await Promise.all(CHARTS.map((chart) => chartSection(report, chart, options)));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pseudolabel report · ${escapeHtml(report.runId)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
${header(report)}
${warnings(report)}
${cards(report)}
${methodAndClasses(report)}
${charts.join('\n')}
${rejected(report)}
<footer>Generated by pseudolabel. The same data is in <code>report.json</code>; labels are in <code>labels.csv</code>.</footer>
</main>
</body>
</html>
`;
}

async function chartSection(report: ReportRecord, chart: ChartSection, options: RenderReportOptions): Promise<string> {
  const spec = chart.build(report);
  let body = `<p class="empty">${chart.empty}</p>`;
  if (spec !== null) {
    const { svg, warnings } = await renderChartSvg(spec, `chart-${chart.key}`);
    for (const message of warnings) options.onChartWarning?.(chart.key, message);
    body = `<figure>${svg}</figure>`;
  }
  return `<section class="chart" data-chart="${chart.key}">
<h2>${escapeHtml(chart.title)}</h2>
<p class="note">${chart.note(report)}</p>
${body}
</section>`;
}

function header(report: ReportRecord): string {
  return `<header>
<h1>pseudolabel report · <span class="method">${escapeHtml(report.method)}</span></h1>
<p class="sub">Run <code>${escapeHtml(report.runId)}</code></p>
</header>`;
}

function warnings(report: ReportRecord): string {
  if (report.warnings.length === 0) return '';
  const items = report.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('\n');
  return `<section class="warnings" data-section="warnings">
<h2>${report.warnings.length === 1 ? 'Warning' : `${report.warnings.length} warnings`}</h2>
<ul>
${items}
</ul>
</section>`;
}

/** Rows per source after the last round (all sources over all classes). */
function finalBySource(report: ReportRecord): Record<Source, number> {
  const totals = { given: 0, propagated: 0, pseudo: 0, none: 0, carried: 0, confirmed: 0 };
  const last = report.rounds[report.rounds.length - 1];
  if (last === undefined) return totals;
  for (const source of SOURCES) for (const count of Object.values(last.counts[source] ?? {})) totals[source] += count;
  return totals;
}

function cards(report: ReportRecord): string {
  const bySource = finalBySource(report);
  const labelled = bySource.given + bySource.propagated + bySource.pseudo;
  const items: [string, string, boolean][] = [
    ['rows', formatNumber(report.n), false],
    ['features', formatNumber(report.d), false],
    ['classes', formatNumber(report.classes.length), false],
    [`given labels (${formatPercent(report.given, report.n)})`, formatNumber(report.given), false],
    [`labelled at the end (${formatPercent(labelled, report.n)})`, formatNumber(labelled), labelled === 0],
    ['rejected rows', formatNumber(report.rejected), report.rejected > 0],
  ];
  const html = items
    .map(
      ([label, value, alert]) =>
        `<div class="card${alert ? ' alert' : ''}"><div class="value">${value}</div><div class="label">${label}</div></div>`,
    )
    .join('\n');
  return `<section class="cards" data-section="summary">\n${html}\n</section>`;
}

function methodAndClasses(report: ReportRecord): string {
  const parameters = Object.entries(report.parameters).map(([name, value]): Cell[] => [
    { html: `<code>${escapeHtml(name)}</code>` },
    value === undefined ? 'auto' : String(value),
  ]);
  const last = report.rounds[report.rounds.length - 1];
  const names = [...report.classes];
  if (last !== undefined && Object.values(last.counts).some((byClass) => (byClass[''] ?? 0) > 0)) names.push('');
  const classRows = names.map((name): Cell[] => [
    name === '' ? { html: `<em>${NO_LABEL}</em>` } : name,
    ...SOURCES.map((source) => formatNumber(last?.counts[source]?.[name] ?? 0)),
  ]);
  const reason = report.methodReason ? `<p class="note">${escapeHtml(report.methodReason)}</p>` : '';
  const candidates = report.auto
    ? `<h3>Settings tried by --method auto (best first)</h3>
${htmlTable(
  [
    'method',
    'scale',
    'k',
    'alpha',
    'mean accuracy',
    'spread',
    'Brier score',
    'vs self-training standardised (paired)',
    'agrees with the consensus',
  ],
  report.auto.candidates.map((c): Cell[] => [
    c.method,
    c.scale,
    c.neighbors === undefined ? '' : String(c.neighbors),
    c.alpha === undefined ? '' : String(c.alpha),
    formatPercent(c.score, 1),
    formatPercent(c.spread, 1),
    c.brier === undefined ? '' : c.brier.toFixed(3),
    c.versusFallback === undefined
      ? ''
      : c.brier === undefined
        ? `${c.versusFallback.difference >= 0 ? '+' : ''}${(100 * c.versusFallback.difference).toFixed(1)} ± ${(100 * c.versusFallback.standardError).toFixed(1)} points`
        : `${c.versusFallback.difference >= 0 ? 'better by ' : 'worse by '}${Math.abs(c.versusFallback.difference).toFixed(3)} ± ${c.versusFallback.standardError.toFixed(3)} Brier`,
    c.agreement === undefined ? '' : formatPercent(c.agreement, 1),
  ]),
  [2, 3, 4, 5, 6, 7, 8],
)}`
    : '';
  return `<section class="columns" data-section="method">
<div>
<h2>Method: ${escapeHtml(report.method)}</h2>
${reason}
${candidates}
<h3>Parameters</h3>
${htmlTable(['parameter', 'value'], parameters)}
</div>
<div>
<h2>Classes</h2>
<ul class="chips">${report.classes.map((c) => `<li>${escapeHtml(c)}</li>`).join('')}</ul>
<h3>Rows per class after the last round</h3>
${htmlTable(
  ['class', ...SOURCES],
  classRows,
  SOURCES.map((_, s) => s + 1),
)}
</div>
</section>`;
}

function rejected(report: ReportRecord): string {
  const shown = report.rejectedSample.length;
  if (report.rejected === 0) {
    return '<section class="chart" data-section="rejected"><h2>Rejected rows</h2><p class="note">No row was rejected.</p></section>';
  }
  const more =
    report.rejected > shown
      ? ` The first ${formatNumber(shown)} are listed; all are in <code>rejected.csv</code>.`
      : ' All are listed here and in <code>rejected.csv</code>.';
  const rows = report.rejectedSample.map((r): Cell[] => [r.file, formatNumber(r.line), r.reason]);
  return `<section class="chart" data-section="rejected">
<h2>Rejected rows: ${formatNumber(report.rejected)}</h2>
<p class="note">Rows that could not be read were left out of the run, not dropped silently.${more}</p>
${shown > 0 ? htmlTable(['file', 'line', 'reason'], rows, [1]) : ''}
</section>`;
}
