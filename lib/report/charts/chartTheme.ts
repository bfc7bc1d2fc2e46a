import type { Source } from '../../data/labelSource.ts';

/** Fonts and colours shared by every chart of report.html, so the charts read as one document. */

export const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Helvetica, Arial, sans-serif";

/** The source colours: given labels dark, propagated and pseudo labels lighter, unlabelled rows grey. */
export const SOURCE_COLORS: Record<Source, string> = {
  given: '#1f4e79',
  propagated: '#4e9bd4',
  pseudo: '#f28e2b',
  none: '#c9ccd1',
  carried: '#59a14f',
  confirmed: '#b07aa1',
};

export const PRIMARY = '#4e79a7';
export const MUTED = '#9aa0a6';
export const ACCENT = '#d1495b';

/** vega-lite `config` for every chart: no outer frame, quiet grid, readable labels. */
export const CHART_CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  view: { stroke: null },
  axis: {
    labelColor: '#3c4043',
    titleColor: '#3c4043',
    titleFontWeight: 600,
    labelFontSize: 11,
    titleFontSize: 12,
    gridColor: '#eceff1',
    domainColor: '#9aa0a6',
    tickColor: '#9aa0a6',
  },
  header: { labelFontSize: 12, labelFontWeight: 600, labelColor: '#202124', titleFontSize: 12, labelLimit: 160 },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 600, orient: 'top', direction: 'horizontal' },
  title: { fontSize: 14, fontWeight: 600, anchor: 'start', color: '#202124' },
} as const;
