import { describe, expect, it } from 'vitest';
import { SOURCES } from '../../lib/pipeline/outputs/rowOutcome.ts';
import type { RunReport } from '../../lib/pipeline/outputs/runReport.ts';
import { convergenceChart } from '../../lib/report/charts/convergenceChart.ts';
import { estimateTextWidth } from '../../lib/report/charts/textWidth.ts';
import { formatDuration, formatNumber, formatPercent } from '../../lib/report/format.ts';
import { escapeHtml, htmlTable } from '../../lib/report/html.ts';
import { renderReportHtml } from '../../lib/report/renderReportHtml.ts';
import { sampleReport } from './sampleReport.ts';

/** The markup of one `<section data-chart=key>` (or `data-section=key`). */
function section(html: string, key: string): string {
  const start = html.search(new RegExp(`<section[^>]*data-(chart|section)="${key}"`));
  expect(start, `section ${key}`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

/** How many items vega drew for marks of `type` (rect, line, symbol, text, rule) in `svg`, over all facets: one
 * `<path>` per bar, line or symbol, one `<line>` per rule, one `<text>` per text. */
function markItems(svg: string, type: string): number {
  let items = 0;
  for (const match of svg.matchAll(new RegExp(`<g class="mark-${type} role-mark[^>]*>`, 'g'))) {
    const body = svg.slice(match.index + match[0].length, svg.indexOf('</g>', match.index));
    items += (body.match(/<(path|line|text)\b/g) ?? []).length;
  }
  return items;
}

async function render(report: RunReport): Promise<{ html: string; warnings: string[] }> {
  const warnings: string[] = [];
  const html = await renderReportHtml(report, {
    onChartWarning: (chart, message) => warnings.push(`${chart}: ${message}`),
  });
  return { html, warnings };
}

describe('renderReportHtml', () => {
  it('draws one svg with marks per chart of a full report, without vega warnings', async () => {
    // Prepare
    const report = sampleReport();
    const bars = report.rounds.reduce(
      (total, round) =>
        total + SOURCES.reduce((sum, s) => sum + Object.values(round.counts[s] ?? {}).filter((c) => c > 0).length, 0),
      0,
    );

    // Act
    const { html, warnings } = await render(report);

    // Assess
    expect(warnings).toEqual([]);
    for (const key of ['labels', 'confidence', 'convergence', 'holdout', 'timings']) {
      expect((section(html, key).match(/<svg\b/g) ?? []).length, key).toBe(1);
    }
    expect(markItems(section(html, 'labels'), 'rect')).toBe(bars);
    expect(markItems(section(html, 'confidence'), 'rect')).toBe(report.rounds.length * 20);
    expect(markItems(section(html, 'confidence'), 'rule')).toBe(report.rounds.length);
    expect(markItems(section(html, 'convergence'), 'line')).toBe(1);
    expect(markItems(section(html, 'convergence'), 'symbol')).toBe(report.convergence.deltas.length);
    expect(markItems(section(html, 'holdout'), 'rect')).toBe(4);
    expect(markItems(section(html, 'holdout'), 'text')).toBe(4);
    expect(markItems(section(html, 'timings'), 'rect')).toBe(Object.keys(report.timings).length);
  });

  it('writes a self-contained page: no scripts, no external references, a CSP that forbids fetching', async () => {
    // Prepare
    const report = sampleReport();

    // Act
    const { html } = await render(report);

    // Assess
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/url\((?!#)/);
    expect(html.match(/https?:\/\/[^"\s]*/g)?.every((uri) => uri.startsWith('http://www.w3.org/'))).toBe(true);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('keeps svg ids unique across charts and every reference pointing at one of them', async () => {
    // Prepare
    const report = sampleReport();

    // Act
    const { html } = await render(report);

    // Assess
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    const references = [...html.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    expect(references.filter((ref) => !ids.includes(ref))).toEqual([]);
  });

  it('escapes user strings in the page and in the charts', async () => {
    // Prepare
    const evil = '<script>alert(1)</script>';
    const base = sampleReport();
    const rename = (counts: Record<string, number>) =>
      Object.fromEntries(Object.entries(counts).map(([name, count]) => [name === 'other' ? evil : name, count]));
    const report = sampleReport({
      runId: 'run-"quoted"-<b>',
      classes: base.classes.map((c) => (c === 'other' ? evil : c)),
      rounds: base.rounds.map((round) => ({
        ...round,
        counts: Object.fromEntries(SOURCES.map((s) => [s, rename(round.counts[s] ?? {})])) as typeof round.counts,
      })),
      timings: { '<i>ingest</i>': 10, propagate: 20 },
      rejectedSample: [{ file: '<img src=x onerror=alert(2)>.csv', line: 7, reason: 'bad & "worse"' }],
      warnings: ['<iframe> in a warning'],
    });

    // Act
    const { html, warnings } = await render(report);

    // Assess
    expect(warnings).toEqual([]);
    expect(html).not.toMatch(/<(script|img|iframe|i|b)\b/i);
    expect(section(html, 'method')).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(section(html, 'labels')).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(section(html, 'timings')).toContain('&lt;i&gt;ingest&lt;/i&gt;');
    expect(section(html, 'rejected')).toContain('&lt;img src=x onerror=alert(2)&gt;.csv');
    expect(section(html, 'rejected')).toContain('bad &amp; &quot;worse&quot;');
    expect(section(html, 'warnings')).toContain('&lt;iframe&gt; in a warning');
    expect(html).toContain('run-&quot;quoted&quot;-&lt;b&gt;');
  });

  it('explains instead of drawing when there is no holdout, no iteration and nothing rejected', async () => {
    // Prepare
    const base = sampleReport();
    const report = sampleReport({
      holdout: undefined,
      convergence: { ...base.convergence, deltas: [], finalDelta: null },
      rejected: 0,
      rejectedSample: [],
      warnings: [],
    });

    // Act
    const { html } = await render(report);

    // Assess
    expect(section(html, 'holdout')).not.toContain('<svg');
    expect(section(html, 'holdout')).toContain('--holdout');
    expect(section(html, 'convergence')).not.toContain('<svg');
    expect(section(html, 'rejected')).toContain('No row was rejected');
    expect(section(html, 'rejected')).not.toContain('<table');
    expect(html).not.toContain('data-section="warnings"');
    expect((html.match(/<svg\b/g) ?? []).length).toBe(3);
  });

  it('shows the rows without any class as their own facet and table row', async () => {
    // Prepare
    const report = sampleReport();
    const unreached = report.rounds[report.rounds.length - 1].counts.none[''];

    // Act
    const { html } = await render(report);

    // Assess
    expect(unreached).toBeGreaterThan(0);
    expect(section(html, 'labels')).toContain('(no label)');
    expect(section(html, 'method')).toContain(`<em>(no label)</em></td><td class="num">0</td>`);
  });

  it('says how many rejected rows are not listed', async () => {
    // Prepare
    const report = sampleReport({ rejected: 250 });

    // Act
    const { html } = await render(report);

    // Assess
    const rejected = section(html, 'rejected');
    expect(rejected).toContain('Rejected rows: 250');
    expect(rejected).toContain(`The first ${report.rejectedSample.length} are listed`);
    expect((rejected.match(/<tr>/g) ?? []).length).toBe(1 + report.rejectedSample.length);
  });
});

describe('convergenceChart', () => {
  it('uses a log scale when every change is positive and a linear one otherwise', () => {
    // Prepare
    const base = sampleReport();
    const withZero = sampleReport({ convergence: { ...base.convergence, deltas: [0.5, 0.01, 0] } });

    // Act
    const positive = JSON.stringify(convergenceChart(base));
    const zero = JSON.stringify(convergenceChart(withZero));

    // Assess
    expect(positive).toContain('"type":"log"');
    expect(zero).not.toContain('"type":"log"');
  });
});

describe('report html helpers', () => {
  it('escapes the five HTML special characters', () => {
    // Act
    const escaped = escapeHtml(`<a href="x" title='y'>&</a>`);

    // Assess
    expect(escaped).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('escapes table cells and keeps trusted markup cells', () => {
    // Act
    const table = htmlTable(['<h>', 'n'], [['<c>', { html: '<em>ok</em>' }]], [1]);

    // Assess
    expect(table).toContain('<th>&lt;h&gt;</th><th class="num">n</th>');
    expect(table).toContain('<td>&lt;c&gt;</td><td class="num"><em>ok</em></td>');
  });

  it('formats numbers, shares and durations for people', () => {
    // Act
    const formatted = [
      formatNumber(12480),
      formatNumber(0.83333),
      formatNumber(0.000366),
      formatPercent(120, 12480),
      formatPercent(1, 0),
      formatDuration(418.4),
      formatDuration(2312),
      formatDuration(245_000),
    ];

    // Assess
    expect(formatted).toEqual(['12,480', '0.8333', '3.66e-4', '1.0%', '–', '418 ms', '2.31 s', '4 min 05 s']);
  });
});

describe('estimateTextWidth', () => {
  it("measures narrow letters narrower than wide ones, bold wider, and below vega's 0.8 em guess", () => {
    // Act
    const narrow = estimateTextWidth('illi', 12);
    const wide = estimateTextWidth('mWmW', 12);
    const regular = estimateTextWidth('feature request', 12);
    const bold = estimateTextWidth('feature request', 12, true);

    // Assess
    expect(narrow).toBeLessThan(wide);
    expect(bold).toBeGreaterThan(regular);
    expect(regular).toBeGreaterThan(0.45 * 15 * 12);
    expect(bold).toBeLessThan(0.8 * 15 * 12);
  });
});
