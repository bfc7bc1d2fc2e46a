import { isUtf8 } from 'node:buffer';
import { InputFileError } from './errors.ts';
import { FeatureVectors } from './featureVectors.ts';
import {
  idFromValue,
  labelFromValue,
  quoteValue,
  valueFeature,
  valueFeatureProblem,
  vectorFeatureName,
} from './fieldValues.ts';
import { memberText } from './jsonMemberText.ts';
import { blockLines, contentEnd, isBlankLine, lineBlocks, lineEndIn, stripBom } from './lineBlocks.ts';
import {
  type ColumnOptions,
  DEFAULT_ID_COLUMN,
  DEFAULT_LABEL_COLUMN,
  type ParsedRow,
  type RowReader,
  type RowResult,
  type RowSchema,
  tooManyColumns,
  VECTOR_COLUMN,
} from './rowSource.ts';
import { invalidUtf8At, invalidUtf8Reason } from './utf8Text.ts';

/**
 * JSON Lines rows, streamed: one JSON object per line, blank lines skipped. An object holds an optional id
 * (absent = the default id; null or empty = refused), an optional label (null, -1 or missing = unlabelled) and its features: either a `vector` array (other
 * fields are then ignored) or numeric fields, every field other than id and label being a feature.
 *
 * The schema (which fields, or the vector length) comes from the first object that has features: a
 * non-empty `vector` array, or at least one field besides id and label. Every row, the ones before it
 * included, is then checked against that schema, so a byte-range shard given the same schema refuses
 * exactly the same rows for the same reasons.
 */
export interface JsonlOptions extends ColumnOptions {
  /** The schema, when already known (a byte-range shard gets the planner's). Inferred otherwise. */
  readonly schema?: RowSchema;
  /** Line number of the stream's first line (default 1). */
  readonly firstLine?: number;
  /**
   * Whether the stream starts at the file's start, where a byte order mark is dropped (default: when firstLine
   * is 1). A shard numbering its lines from 1 in the middle of a file passes false.
   */
  readonly startsFile?: boolean;
  /** File name for error messages. */
  readonly file?: string;
}

export interface JsonlReader extends RowReader {
  readonly schema: RowSchema;
}

/** A line's text, or the reason its bytes are refused (not UTF-8) with their lossy decoding. */
type LineText = string | { readonly reason: string; readonly lossy: string };

/** A block's lines (without `\n` and trailing `\r`); a line that is not valid UTF-8 comes as its refusal. */
function blockTexts(block: Buffer): LineText[] {
  if (isUtf8(block)) return blockLines(block);
  const texts: LineText[] = [];
  for (let start = 0; start < block.length; ) {
    const end = lineEndIn(block, start);
    const content = contentEnd(block, start, end);
    const invalid = invalidUtf8At(block, start, content);
    const text = block.toString('utf8', start, content);
    texts.push(invalid === -1 ? text : { reason: invalidUtf8Reason(block, invalid, start), lossy: text });
    start = end + 1;
  }
  return texts;
}

/** A parsed line: the object, or the reason it is not one. */
type ParsedLine = { readonly object: Record<string, unknown> } | { readonly reason: string };

const MAX_MESSAGE = 120;

function parseObject(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      reason: `invalid JSON: ${message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}...` : message}`,
    };
  }
  if (value === null || typeof value !== 'object') return { reason: `not a JSON object: ${quoteValue(value)}` };
  if (Array.isArray(value)) return { reason: 'not a JSON object: an array' };
  return { object: value as Record<string, unknown> };
}

/** The schema an object implies, or undefined when it has no features to infer one from. */
export function schemaFromObject(object: Record<string, unknown>, options: ColumnOptions = {}): RowSchema | undefined {
  const idColumn = options.idColumn ?? DEFAULT_ID_COLUMN;
  const labelColumn = options.labelColumn ?? DEFAULT_LABEL_COLUMN;
  if (Object.hasOwn(object, VECTOR_COLUMN)) {
    const vector = object[VECTOR_COLUMN];
    return Array.isArray(vector) && vector.length > 0 ? { kind: 'vector', d: vector.length } : undefined;
  }
  const names = Object.keys(object).filter((key) => key !== idColumn && key !== labelColumn);
  return names.length > 0 ? { kind: 'fields', names } : undefined;
}

function assertText(text: string, file: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 && c !== 9) {
      throw new InputFileError(
        file,
        `binary data (control character 0x${c.toString(16).padStart(2, '0')}); expected UTF-8 JSON Lines text`,
      );
    }
  }
}

/** The line whose byte order mark is dropped: the file's first, when the stream starts there (else none). */
function bomLine(options: Pick<JsonlOptions, 'firstLine' | 'startsFile'>): number {
  const first = options.firstLine ?? 1;
  return (options.startsFile ?? first === 1) ? first : -1;
}

/** Reads lines until the schema is found. Returns it with every line read so far (for the rows). */
async function findSchema(
  blocks: AsyncGenerator<Buffer>,
  options: JsonlOptions,
  file: string,
): Promise<{ schema: RowSchema; lines: LineText[]; object: Record<string, unknown> }> {
  const lines: LineText[] = [];
  let line = options.firstLine ?? 1;
  let sawText = false;
  for (;;) {
    const next = await blocks.next();
    if (next.done) break;
    const block = blockTexts(next.value);
    for (let i = 0; i < block.length; i++, line++) {
      const raw = block[i];
      const lossy = typeof raw === 'string' ? raw : raw.lossy;
      const text = line === bomLine(options) ? stripBom(lossy) : lossy;
      if (isBlankLine(text)) continue;
      if (!sawText) {
        assertText(text, file);
        sawText = true;
      }
      // A line that is not UTF-8 gives no schema; the row parser rejects it with its reason.
      if (typeof raw !== 'string') continue;
      const parsed = parseObject(text);
      if (!('object' in parsed)) continue;
      const schema = schemaFromObject(parsed.object, options);
      if (schema) {
        const width = schema.kind === 'vector' ? schema.d : schema.names.length;
        const wide = tooManyColumns(`line ${line} (the first object with features) has`, width, options);
        if (wide) throw new InputFileError(file, wide);
        lines.push(...block);
        return { schema, lines, object: parsed.object };
      }
    }
    lines.push(...block);
  }
  if (!sawText) throw new InputFileError(file, 'empty file: no JSON objects');
  throw new InputFileError(
    file,
    `no JSON object with features (a non-empty "${VECTOR_COLUMN}" array or numeric fields)`,
  );
}

/** Finds a JSONL stream's schema (for a shard planner): the same one openJsonlRows infers. */
export async function inferJsonlSchema(
  source: AsyncIterable<Uint8Array>,
  options: Omit<JsonlOptions, 'schema'> = {},
): Promise<RowSchema> {
  const blocks = lineBlocks(source, options.file);
  try {
    return (await findSchema(blocks, options, options.file ?? '<stream>')).schema;
  } finally {
    await blocks.return(undefined);
  }
}

/** Opens a JSONL stream: finds the schema (unless given), then yields one result per non-blank line. */
export async function openJsonlRows(
  source: AsyncIterable<Uint8Array>,
  options: JsonlOptions = {},
): Promise<JsonlReader> {
  const file = options.file ?? '<stream>';
  const labelColumn = options.labelColumn ?? DEFAULT_LABEL_COLUMN;
  const idColumn = options.idColumn ?? DEFAULT_ID_COLUMN;
  const blocks = lineBlocks(source, file);
  let pending: LineText[] = [];
  let schema = options.schema;
  let hasLabelColumn = true;
  let hasIdColumn = true;
  if (!schema) {
    const found = await findSchema(blocks, options, file);
    schema = found.schema;
    pending = found.lines;
    hasLabelColumn = Object.hasOwn(found.object, labelColumn);
    hasIdColumn = Object.hasOwn(found.object, idColumn);
  }
  const parse = jsonlLineParser(schema, options);
  let line = options.firstLine ?? 1;
  async function* rows(): AsyncGenerator<RowResult> {
    for (let i = 0; i < pending.length; i++, line++) {
      const result = parse(pending[i], line);
      if (result) yield result;
    }
    pending = [];
    for await (const block of blocks) {
      const lines = blockTexts(block);
      for (let i = 0; i < lines.length; i++, line++) {
        const result = parse(lines[i], line);
        if (result) yield result;
      }
    }
  }
  const featureNames =
    schema.kind === 'vector' ? Array.from({ length: schema.d }, (_, j) => vectorFeatureName(j)) : [...schema.names];
  const close = async () => {
    await blocks.return(undefined);
  };
  return { schema, featureNames, hasLabelColumn, hasIdColumn, rows: rows(), close };
}

/** A parser of lines for one schema: undefined for a blank line, else the row or the refusal. */
export function jsonlLineParser(
  schema: RowSchema,
  options: ColumnOptions & Pick<JsonlOptions, 'firstLine' | 'startsFile'> = {},
): (text: LineText, line: number) => RowResult | undefined {
  const bom = bomLine(options);
  const idColumn = options.idColumn ?? DEFAULT_ID_COLUMN;
  const labelColumn = options.labelColumn ?? DEFAULT_LABEL_COLUMN;
  const names = schema.kind === 'fields' ? schema.names : [];
  const nameSet = new Set(names);
  const d = schema.kind === 'vector' ? schema.d : names.length;
  const vectors = new FeatureVectors(d);
  return (lineText, line) => {
    if (typeof lineText !== 'string') return { line, reason: lineText.reason };
    const text = line === bom ? stripBom(lineText) : lineText;
    if (isBlankLine(text)) return undefined;
    const parsed = parseObject(text);
    if (!('object' in parsed)) return { line, reason: parsed.reason };
    const object = parsed.object;
    const features = vectors.next();
    if (schema.kind === 'vector') {
      const vector = object[VECTOR_COLUMN];
      if (!Array.isArray(vector)) {
        const problem = vector === undefined ? 'is missing' : `is not an array: ${quoteValue(vector)}`;
        return { line, reason: `field "${VECTOR_COLUMN}" ${problem}` };
      }
      if (vector.length !== d) return { line, reason: `"${VECTOR_COLUMN}" has ${vector.length} values, expected ${d}` };
      for (let j = 0; j < d; j++) {
        const v = valueFeature(vector[j]);
        if (v === undefined) return { line, reason: valueFeatureProblem(vectorFeatureName(j), vector[j]) };
        features[j] = v;
      }
    } else {
      for (let j = 0; j < d; j++) {
        const value = object[names[j]];
        const v = valueFeature(value);
        if (v === undefined) return { line, reason: valueFeatureProblem(`field "${names[j]}"`, value) };
        features[j] = v;
      }
      for (const key in object) {
        if (key !== idColumn && key !== labelColumn && !nameSet.has(key))
          return { line, reason: `unexpected field "${key}"` };
      }
    }
    const idValue = object[idColumn];
    let id: string | undefined;
    if (idValue !== undefined) {
      id = idFromValue(idValue, typeof idValue === 'number' ? memberText(text, idColumn) : undefined);
      if (id === undefined || id === '') {
        const problem =
          idValue === null ? 'is null' : id === '' ? 'is empty' : `is not a string or a number: ${quoteValue(idValue)}`;
        return { line, reason: `field "${idColumn}" ${problem}` };
      }
    }
    const labelValue = object[labelColumn];
    const label = labelFromValue(
      labelValue,
      typeof labelValue === 'number' ? memberText(text, labelColumn) : undefined,
    );
    if (label === undefined) {
      return {
        line,
        reason: `field "${labelColumn}" is not a string, a number or null: ${quoteValue(object[labelColumn])}`,
      };
    }
    const row: ParsedRow = { line, row: line - 1, id, label, features };
    return row;
  };
}
