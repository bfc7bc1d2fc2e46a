/** Number formatting shared by the report's tables and chart labels (en-US, independent of the host locale). */

const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const DECIMAL = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4 });

/** Integers with thousands separators, other finite numbers with 4 significant digits, tiny ones in e-notation. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return INTEGER.format(value);
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  return DECIMAL.format(value);
}

/** A share as a percentage with one decimal ("42.5%"); "–" for an empty total. */
export function formatPercent(part: number, total: number): string {
  return total > 0 ? `${((100 * part) / total).toFixed(1)}%` : '–';
}

/** Milliseconds as "850 ms", "12.3 s" or "4 min 05 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}
