/** Escaping helpers for report.html: every user string (class names, file names, reasons) goes through these. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML text node or a double- or single-quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => ENTITIES[ch]);
}

/** A cell of htmlTable: plain values are escaped; `{ html }` is trusted markup built by the caller. */
export type Cell = string | number | boolean | { readonly html: string };

function cellHtml(cell: Cell): string {
  return typeof cell === 'object' ? cell.html : escapeHtml(cell);
}

/** A table with a header row; `numeric` columns are right-aligned. */
export function htmlTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  numeric: number[] = [],
): string {
  const align = (column: number) => (numeric.includes(column) ? ' class="num"' : '');
  const head = headers.map((h, j) => `<th${align(j)}>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((cell, j) => `<td${align(j)}>${cellHtml(cell)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}
