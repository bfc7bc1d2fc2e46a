import { isMinusOne } from './decimalText.ts';
import { FLOAT32_MAX } from './shardFormat.ts';

/**
 * Interpretation of single values: feature numbers, labels, ids, and how a bad value is quoted in a reason.
 * Shared by every reader so that the same value means the same thing in CSV, JSONL and Parquet.
 */

/** Name given to features read from a `vector` column: vector[0], vector[1], ... */
export function vectorFeatureName(j: number): string {
  return `vector[${j}]`;
}

/** Whether a finite number becomes +-Infinity as a Float32 (beyond FLOAT32_MAX by more than rounding). */
function overflowsFloat32(v: number): boolean {
  return (v > FLOAT32_MAX || v < -FLOAT32_MAX) && !Number.isFinite(Math.fround(v));
}

/**
 * Parses a feature written as text. Returns NaN for anything that is not a finite decimal number: empty or
 * blank text, words, NaN/Inf spellings, the 0x/0b/0o forms that JavaScript's Number() would accept, and numbers
 * beyond the Float32 range. Surrounding whitespace is allowed (as in Python's float()).
 */
export function parseFeatureText(text: string): number {
  const v = +text;
  if (v - v !== 0) return Number.NaN; // NaN or +-Infinity
  if (overflowsFloat32(v)) return Number.NaN;
  if (v === 0 && text.trim() === '') return Number.NaN;
  if (text.length > 2 && text.charCodeAt(0) === 48) {
    const c = text.charCodeAt(1) | 32;
    if (c === 120 || c === 98 || c === 111) return Number.NaN;
  }
  return v;
}

const NON_FINITE_SPELLING = /^[+-]?(nan|inf|infinity)$/i;

/** The reason a text feature was refused (call only when parseFeatureText gave NaN). */
export function textFeatureProblem(what: string, text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return `${what} is empty`;
  const v = Number(trimmed);
  if (NON_FINITE_SPELLING.test(trimmed) || v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
    return `${what} is not finite: ${quoteValue(text)}`;
  }
  if (overflowsFloat32(v)) return beyondFloat32(what, quoteValue(text));
  return `${what} is not a number: ${quoteValue(text)}`;
}

function beyondFloat32(what: string, quoted: string): string {
  return `${what} is beyond +-3.4e38, the Float32 range features are held in: ${quoted}`;
}

/** Feature from a decoded value (JSON, Parquet): finite numbers and bigints only; else the reason. */
export function valueFeature(value: unknown): number | undefined {
  const v = typeof value === 'bigint' ? Number(value) : value;
  if (typeof v === 'number') return Number.isFinite(v) && !overflowsFloat32(v) ? v : undefined;
  return undefined;
}

/** The reason a decoded feature value was refused (call only when valueFeature gave undefined). */
export function valueFeatureProblem(what: string, value: unknown): string {
  if (value === undefined) return `${what} is missing`;
  const v = typeof value === 'bigint' ? Number(value) : value;
  if (typeof v === 'number' && Number.isFinite(v)) return beyondFloat32(what, String(value));
  if (typeof value === 'number') return `${what} is not finite: ${value}`;
  return `${what} is not a number: ${quoteValue(value)}`;
}

/**
 * A label written as text. The class is the text with the spaces around it trimmed, the same rule for numbers
 * and words (' a', 'a' and 'a ' are one class; '1' and '1.0' two): empty, or exactly -1 in any decimal spelling
 * (`-1`, `-1.0`, `-1e0`), means unlabelled (null).
 */
export function labelFromText(text: string): string | null {
  const label = text.trim();
  if (label === '' || isMinusOne(label)) return null;
  return label;
}

/**
 * A label from a decoded value: null/undefined and -1 mean unlabelled; strings as labelFromText; numbers
 * by `numberText`, their spelling in the file when the reader has it (JSON: 9007199254740993 is not the float
 * 9007199254740992), else their shortest decimal spelling; bigints by their digits. Returns undefined for any
 * other type (the row is refused).
 */
export function labelFromValue(value: unknown, numberText?: string): string | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return labelFromText(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    return labelFromText(numberText ?? String(value));
  }
  if (typeof value === 'bigint') return value === -1n ? null : String(value);
  return undefined;
}

/**
 * An id from a decoded value: strings and numbers (by `numberText`, their spelling in the file when the reader has
 * it, as for labels: JSON ids 9007199254740992 and 9007199254740993 are two ids); undefined when absent or of
 * another type.
 */
export function idFromValue(value: unknown, numberText?: string): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number' && Number.isFinite(value)) return numberText ?? String(value);
  return undefined;
}

const MAX_QUOTED = 60;

/** Quotes a value for a reason message: JSON spelling, long values shortened. */
export function quoteValue(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > MAX_QUOTED ? `${JSON.stringify(value.slice(0, MAX_QUOTED))}...` : JSON.stringify(value);
  }
  const text = jsonPreview(value, MAX_QUOTED);
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text;
}

/**
 * The JSON spelling of a value, cut soon after `limit` characters. It walks no more of the value than it writes,
 * and every level of nesting writes a character, so a value nested a million levels deep (one JSONL line can hold
 * one) costs nothing, where JSON.stringify or String() would overflow the stack and fail the whole shard.
 */
function jsonPreview(value: unknown, limit: number): string {
  let out = '';
  const write = (v: unknown): void => {
    if (out.length > limit) return;
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON(): unknown }).toJSON();
    }
    if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length && out.length <= limit; i++) {
        if (i > 0) out += ',';
        write(v[i]);
      }
      out += ']';
    } else if (v !== null && typeof v === 'object') {
      out += '{';
      let first = true;
      for (const key in v) {
        if (out.length > limit) break;
        out += `${first ? '' : ','}${JSON.stringify(key)}:`;
        first = false;
        write((v as Record<string, unknown>)[key]);
      }
      out += '}';
    } else if (typeof v === 'bigint') out += String(v);
    else out += JSON.stringify(v) ?? String(v);
  };
  write(value);
  return out;
}
