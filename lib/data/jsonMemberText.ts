/**
 * The source text of a member of a JSON object, as written in the file. JSON.parse turns numbers into
 * float64 (9007199254740993 becomes 9007199254740992, 1.0 becomes 1); a label is a class by its text, so the
 * JSONL reader takes a numeric label's spelling from here. Node 20 has no JSON.parse source access.
 */

/**
 * The raw text of the value of the last top-level member named `key` (JSON.parse keeps the last of repeated
 * keys), or undefined when there is none. `json` must be a valid JSON object (JSON.parse accepted it).
 */
export function memberText(json: string, key: string): string | undefined {
  let found: string | undefined;
  let i = skipSpace(json, 0) + 1; // past '{'
  for (;;) {
    i = skipSpace(json, i);
    if (json.charCodeAt(i) !== 34) return found; // '}'
    const keyEnd = stringEnd(json, i);
    const quoted = json.slice(i, keyEnd);
    const name = quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
    i = skipSpace(json, skipSpace(json, keyEnd) + 1); // past ':'
    const valueEnd = valueEndAt(json, i);
    if (name === key) found = json.slice(i, valueEnd);
    i = skipSpace(json, valueEnd);
    if (json.charCodeAt(i) !== 44) return found; // '}'
    i++;
  }
}

function skipSpace(json: string, i: number): number {
  for (;;) {
    const c = json.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return i;
    i++;
  }
}

/** The index just past the string that starts (with its quote) at `start`. */
function stringEnd(json: string, start: number): number {
  let q = json.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    while (json.charCodeAt(q - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    q = json.indexOf('"', q + 1);
  }
}

/** The index just past the value that starts at `start`. */
function valueEndAt(json: string, start: number): number {
  const c = json.charCodeAt(start);
  if (c === 34) return stringEnd(json, start);
  if (c === 91 || c === 123) return containerEnd(json, start);
  let i = start;
  for (;;) {
    const d = json.charCodeAt(i);
    if (d === 44 || d === 125 || d === 93 || d === 32 || d === 9 || d === 10 || d === 13 || Number.isNaN(d)) return i;
    i++;
  }
}

/** The index just past the array or object that starts at `start`. */
function containerEnd(json: string, start: number): number {
  // An array of numbers (a vector) is the common case: its end is the first ']' when nothing nests or quotes.
  if (json.charCodeAt(start) === 91) {
    const close = json.indexOf(']', start);
    if (!hasBefore(json, '[', start + 1, close) && !hasBefore(json, '{', start, close)) {
      if (!hasBefore(json, '"', start, close)) return close + 1;
    }
  }
  let depth = 0;
  for (let i = start; ; i++) {
    const c = json.charCodeAt(i);
    if (c === 34) i = stringEnd(json, i) - 1;
    else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
}

function hasBefore(json: string, char: string, from: number, end: number): boolean {
  const at = json.indexOf(char, from);
  return at !== -1 && at < end;
}
