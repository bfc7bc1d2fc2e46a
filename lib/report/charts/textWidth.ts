import * as vega from 'vega';

/**
 * Text widths for vega's layout in Node. Without a canvas vega guesses 0.8 em per character, which makes every
 * label, legend and facet header about 40% too wide (wide gaps, early ellipses). This table holds the advance widths
 * of DejaVu Sans, the fallback sans-serif font on Debian and among the widest common ones, so text measured here
 * still fits where a narrower system font renders it.
 */
const EM: Record<string, number> = {
  ' ': 0.32,
  a: 0.61,
  b: 0.63,
  c: 0.55,
  d: 0.63,
  e: 0.62,
  f: 0.35,
  g: 0.63,
  h: 0.63,
  i: 0.28,
  j: 0.28,
  k: 0.58,
  l: 0.28,
  m: 0.97,
  n: 0.63,
  o: 0.61,
  p: 0.63,
  q: 0.63,
  r: 0.41,
  s: 0.52,
  t: 0.39,
  u: 0.63,
  v: 0.59,
  w: 0.82,
  x: 0.59,
  y: 0.59,
  z: 0.53,
  I: 0.29,
  J: 0.29,
  M: 0.86,
  W: 0.99,
  '.': 0.32,
  ',': 0.32,
  ':': 0.34,
  ';': 0.34,
  '-': 0.36,
  '(': 0.39,
  ')': 0.39,
  '%': 0.95,
  '\u2026': 1.0,
  "'": 0.27,
  '"': 0.46,
  '/': 0.34,
  _: 0.5,
};
const DIGIT = 0.64;
const UPPER = 0.7;
const OTHER = 0.62;
const BOLD = 1.1;

/** Width in pixels of `text` at `fontSize` px, bold when `bold`. */
export function estimateTextWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const ch of text) {
    em += EM[ch] ?? (ch >= '0' && ch <= '9' ? DIGIT : ch >= 'A' && ch <= 'Z' ? UPPER : OTHER);
  }
  return Math.ceil(em * fontSize * (bold ? BOLD : 1));
}

interface TextItem {
  readonly text?: unknown;
  readonly fontSize?: number;
  readonly fontWeight?: string | number;
}

interface TextMetrics {
  width: (item: TextItem, text?: unknown) => number;
}

function isBold(weight: TextItem['fontWeight']): boolean {
  return weight === 'bold' || weight === 'bolder' || (Number(weight) || 0) >= 600;
}

/**
 * Makes vega measure text with estimateTextWidth (vega's documented hook, as vl-convert uses: a user-defined
 * `textMetrics.width`). Idempotent; affects every vega View of the process, which here are only the report's.
 */
export function useTextWidthEstimate(): void {
  const metrics = (vega as unknown as { textMetrics: TextMetrics }).textMetrics;
  metrics.width = (item, text) => {
    const value = text ?? item.text;
    const line = Array.isArray(value) ? value.map(String).join(' ') : value == null ? '' : String(value).trim();
    const size = item.fontSize ?? 11;
    return size <= 0 ? 0 : estimateTextWidth(line, size, isBold(item.fontWeight));
  };
}
