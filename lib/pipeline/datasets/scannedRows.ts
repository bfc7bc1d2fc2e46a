import type { ObjectStore } from '../../adapters/objectStore.ts';
import { bucketKey, idHash, type VersionRow } from './versionRows.ts';

/**
 * A bucket's rows as read for comparison (versionChanges.ts), in file order, with no string per row: each row's
 * id and label are spans of their JSON text in `text` (the writers use JSON.stringify, so equal values have equal
 * text, and spans compare without decoding), with the confidence and the id's hash (idHash of the decoded id).
 * Scanning 1M rows into strings and arrays of them took about 0.9 s with the garbage they left; spans and typed
 * arrays leave none.
 */
export class ScannedRows {
  constructor(
    readonly text: string,
    readonly n: number,
    /** Row i's id span at [4i, 4i + 1), its label span at [4i + 2, 4i + 3) (end exclusive). */
    private readonly spans: Int32Array,
    readonly confidences: Float64Array,
    readonly hashes: Uint32Array,
  ) {}

  /** Row i's id as its JSON text (JSON.parse gives the id). */
  id(i: number): string {
    return this.text.slice(this.spans[4 * i], this.spans[4 * i + 1]);
  }

  /** Row i's label as its JSON text: `null` or a JSON string. */
  label(i: number): string {
    return this.text.slice(this.spans[4 * i + 2], this.spans[4 * i + 3]);
  }

  sameId(i: number, other: ScannedRows, j: number): boolean {
    return sameSpan(this.text, this.spans, 4 * i, other.text, other.spans, 4 * j);
  }

  sameLabel(i: number, other: ScannedRows, j: number): boolean {
    return sameSpan(this.text, this.spans, 4 * i + 2, other.text, other.spans, 4 * j + 2);
  }
}

function sameSpan(a: string, aSpans: Int32Array, at: number, b: string, bSpans: Int32Array, bt: number): boolean {
  const from = aSpans[at];
  const bFrom = bSpans[bt];
  const length = aSpans[at + 1] - from;
  if (bSpans[bt + 1] - bFrom !== length) return false;
  for (let p = 0; p < length; p++) if (a.charCodeAt(from + p) !== b.charCodeAt(bFrom + p)) return false;
  return true;
}

/** The index after the JSON string that starts at `at` (its opening quote), or -1 if there is none. */
function endOfJsonString(text: string, at: number): number {
  if (text.charCodeAt(at) !== 34) return -1;
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c === 92) i++;
    else if (c === 10) return -1;
  }
  return -1;
}

/**
 * idHash of the string whose JSON text is text[from, to): without an escape, its characters between the quotes
 * are the string (hashed in place); with one, it is decoded first.
 */
function hashOfJsonString(text: string, from: number, to: number): number {
  for (let i = from + 1; i < to - 1; i++) {
    if (text.charCodeAt(i) === 92) return idHash(JSON.parse(text.slice(from, to)) as string);
  }
  return idHash(text, from + 1, to - 1);
}

/**
 * The rows of a bucket object's text (lines `["id","label",confidence,"source"]`). The common line is read by a
 * scanner (three times faster than JSON.parse, with no array per row); any other line goes through JSON.parse,
 * its id's and label's JSON text (JSON.stringify) appended after the text for their spans.
 */
export function scanVersionRows(text: string): ScannedRows {
  let lines = 1;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lines++;
  const spans = new Int32Array(4 * lines);
  const confidences = new Float64Array(lines);
  const hashes = new Uint32Array(lines);
  const aside: string[] = [];
  let asideEnd = text.length;
  let n = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const idEnd = text.charCodeAt(start) === 91 ? endOfJsonString(text, start + 1) : -1;
      const labelAt = idEnd + 1;
      const labelEnd =
        idEnd < 0 || text.charCodeAt(idEnd) !== 44
          ? -1
          : text.startsWith('null', labelAt)
            ? labelAt + 4
            : endOfJsonString(text, labelAt);
      const comma = labelEnd < 0 || text.charCodeAt(labelEnd) !== 44 ? -1 : text.indexOf(',', labelEnd + 1);
      const confidence = comma <= labelEnd + 1 || comma > end ? Number.NaN : Number(text.slice(labelEnd + 1, comma));
      if (Number.isNaN(confidence)) {
        const [id, label, parsed] = JSON.parse(text.slice(start, end)) as VersionRow;
        const idText = JSON.stringify(id);
        const labelText = JSON.stringify(label);
        spans.set(
          [asideEnd, asideEnd + idText.length, asideEnd + idText.length, asideEnd + idText.length + labelText.length],
          4 * n,
        );
        aside.push(idText, labelText);
        asideEnd += idText.length + labelText.length;
        confidences[n] = parsed;
        hashes[n] = idHash(id);
      } else {
        const idFrom = start + 1;
        spans[4 * n] = idFrom;
        spans[4 * n + 1] = idEnd;
        spans[4 * n + 2] = labelAt;
        spans[4 * n + 3] = labelEnd;
        confidences[n] = confidence;
        hashes[n] = hashOfJsonString(text, idFrom, idEnd);
      }
      n++;
    }
    start = end + 1;
  }
  const all = aside.length > 0 ? text + aside.join('') : text;
  return new ScannedRows(all, n, spans, confidences.subarray(0, n), hashes.subarray(0, n));
}

/** A bucket object's rows (scanVersionRows). */
export async function scanVersionBucket(store: ObjectStore, prefix: string, bucket: number): Promise<ScannedRows> {
  return scanVersionRows(new TextDecoder().decode(await store.get(bucketKey(prefix, bucket))));
}
