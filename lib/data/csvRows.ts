import { OptionsError } from '../errors.ts';
import { InputFileError } from './errors.ts';
import { FeatureVectors } from './featureVectors.ts';
import { labelFromText, parseFeatureText, quoteValue, textFeatureProblem } from './fieldValues.ts';
import { contentEnd, isBlankBytes, isBlankLine, lineBlocks, lineEndIn, stripBom } from './lineBlocks.ts';
import {
  type ColumnOptions,
  DEFAULT_ID_COLUMN,
  DEFAULT_LABEL_COLUMN,
  type ParsedRow,
  type RowReader,
  type RowResult,
  tooManyColumns,
} from './rowSource.ts';
import { invalidUtf8At, invalidUtf8Reason } from './utf8Text.ts';

/**
 * CSV rows, streamed. Dialect: comma-separated, `"` quotes with `""` for a quote inside, CRLF or LF line
 * ends, optional UTF-8 BOM, blank lines skipped. One record is one physical line: a quoted field may hold
 * commas and quotes but not a line break (such a row is refused, and so is its continuation line). This is
 * what lets a byte range aligned to line starts be parsed on its own (see byteRanges.ts), and it keeps the
 * damage of a stray quote to one row instead of the rest of the file.
 */
export interface CsvOptions extends ColumnOptions {
  /** Column names, when the stream does not start with the header (a byte-range shard). */
  readonly header?: readonly string[];
  /** Line number of the stream's first line: 1 by default (the header), 2 when `header` is given. */
  readonly firstLine?: number;
  /** File name for error messages. */
  readonly file?: string;
}

/** Where the id, label and feature columns are in a header. */
export interface CsvLayout {
  readonly header: readonly string[];
  readonly idIndex: number;
  readonly labelIndex: number;
  readonly featureIndexes: readonly number[];
  readonly featureNames: readonly string[];
}

/** An opened CSV stream: the layout from the header, then the data rows. */
export interface CsvReader extends RowReader {
  readonly layout: CsvLayout;
}

/** A field that cannot be split out of a line. */
export interface CsvSplitError {
  readonly field: number;
  readonly problem: 'unterminated quote' | 'text after closing quote' | 'stray quote';
}

/**
 * Splits one line into fields (RFC 4180 without line breaks in fields). Returns the fields, or where and
 * why it failed: a quoted field must be closed and followed by a comma or the line end, and an unquoted
 * field must not hold a quote (the sign of a quoted line break continued on this line, among others).
 */
export function splitCsvLine(line: string): string[] | CsvSplitError {
  if (line.indexOf('"') === -1) return line.split(',');
  const fields: string[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q === -1) return { field: fields.length, problem: 'unterminated quote' };
        if (line.charCodeAt(q + 1) === 34) {
          value += line.slice(j, q + 1);
          j = q + 2;
          continue;
        }
        value += line.slice(j, q);
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === n) return fields;
      if (line.charCodeAt(i) !== 44) return { field: fields.length - 1, problem: 'text after closing quote' };
      i++;
    } else {
      let comma = line.indexOf(',', i);
      if (comma === -1) comma = n;
      const quote = line.indexOf('"', i);
      if (quote !== -1 && quote < comma) return { field: fields.length, problem: 'stray quote' };
      fields.push(line.slice(i, comma));
      if (comma === n) return fields;
      i = comma + 1;
    }
    if (i === n) {
      fields.push('');
      return fields;
    }
  }
}

/**
 * Parses the header line (line 1 of the file). Throws InputFileError for a blank line, binary data
 * (control characters), a malformed line, unnamed or duplicate columns. openCsvRows refuses a header that is
 * not valid UTF-8 before it decodes it.
 */
export function parseCsvHeader(line: string, file = '<stream>', options: ColumnOptions = {}): string[] {
  const text = stripBom(line);
  if (isBlankLine(text)) throw new InputFileError(file, 'no header row (line 1 is empty)');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 0x7f) {
      throw new InputFileError(
        file,
        `binary data in the header (control character 0x${c.toString(16).padStart(2, '0')}); expected UTF-8 CSV text`,
      );
    }
  }
  const fields = splitCsvLine(text);
  if (!Array.isArray(fields))
    throw new InputFileError(file, `malformed header: ${fields.problem} in column ${fields.field + 1}`);
  const wide = tooManyColumns('the header has', fields.length, options);
  if (wide) throw new InputFileError(file, wide);
  const seen = new Set<string>();
  for (let i = 0; i < fields.length; i++) {
    const name = fields[i];
    if (name.trim() === '') throw new InputFileError(file, `column ${i + 1} of the header has no name`);
    if (seen.has(name)) throw new InputFileError(file, `duplicate column "${name}" in the header`);
    seen.add(name);
  }
  refuseOtherSeparator(fields, file);
  return fields;
}

/** Separators of delimited text that is not comma-separated, by how a message names them. */
const OTHER_SEPARATORS: readonly [string, string][] = [
  [';', 'semicolons'],
  ['\t', 'tabs'],
  ['|', 'vertical bars'],
];

/**
 * Refuses a header of one column whose name holds another separator ("id;a;b;label"): semicolon- or
 * tab-separated text, read as CSV, would be one feature column, and every row would be rejected for it.
 */
function refuseOtherSeparator(fields: readonly string[], file: string): void {
  if (fields.length !== 1) return;
  const other = OTHER_SEPARATORS.find(([separator]) => fields[0].includes(separator));
  if (other === undefined) return;
  throw new InputFileError(
    file,
    `the header is one column, ${quoteValue(fields[0])}: CSV columns are separated by commas, and these look ` +
      `separated by ${other[1]}`,
  );
}

/** Assigns the header's columns: id, label, and every other column a feature. */
export function csvLayout(header: readonly string[], options: ColumnOptions = {}, file = '<stream>'): CsvLayout {
  const idColumn = options.idColumn ?? DEFAULT_ID_COLUMN;
  const labelColumn = options.labelColumn ?? DEFAULT_LABEL_COLUMN;
  if (idColumn === labelColumn) throw new OptionsError(`the id and label columns must differ, both are "${idColumn}"`);
  const featureIndexes: number[] = [];
  const featureNames: string[] = [];
  for (let i = 0; i < header.length; i++) {
    if (header[i] === idColumn || header[i] === labelColumn) continue;
    featureIndexes.push(i);
    featureNames.push(header[i]);
  }
  if (featureIndexes.length === 0) {
    throw new InputFileError(file, `no feature columns (columns: ${header.join(', ')})`);
  }
  return {
    header,
    idIndex: header.indexOf(idColumn),
    labelIndex: header.indexOf(labelColumn),
    featureIndexes,
    featureNames,
  };
}

/**
 * Refuses a header of more columns than the limit from its bytes, before it is decoded and split (a
 * five-million-column header: 0.1 s instead of seconds). Only without quotes: a quoted comma is no separator.
 */
function refuseWideHeader(block: Buffer, end: number, options: ColumnOptions, file: string): void {
  const quote = block.indexOf(34);
  if (quote !== -1 && quote < end) return; // parseCsvHeader checks the split fields
  let fields = 1;
  for (let k = 0; k < end; k++) if (block[k] === 44) fields++;
  const wide = tooManyColumns('the header has', fields, options);
  if (wide) throw new InputFileError(file, wide);
}

/**
 * Opens a CSV stream: reads the header (unless `options.header` is given), then yields one result per
 * non-blank data line. Throws InputFileError when the stream has no usable header.
 */
export async function openCsvRows(source: AsyncIterable<Uint8Array>, options: CsvOptions = {}): Promise<CsvReader> {
  const file = options.file ?? '<stream>';
  const blocks = lineBlocks(source, file);
  let first: Buffer | undefined;
  let firstStart = 0;
  let line = options.firstLine ?? (options.header ? 2 : 1);
  let header = options.header;
  if (!header) {
    const next = await blocks.next();
    if (next.done) throw new InputFileError(file, 'empty file: no header row');
    first = next.value;
    const end = lineEndIn(first, 0);
    const headerEnd = contentEnd(first, 0, end);
    refuseWideHeader(first, headerEnd, options, file);
    const invalid = invalidUtf8At(first, 0, headerEnd);
    if (invalid !== -1) throw new InputFileError(file, invalidUtf8Reason(first, invalid, 0, 'the header (line 1)'));
    header = parseCsvHeader(first.toString('utf8', 0, headerEnd), file, options);
    firstStart = end + 1;
    line++;
  }
  const layout = csvLayout(header, options, file);
  const parse = csvLineParser(layout);
  async function* rows(): AsyncGenerator<RowResult> {
    if (first) {
      for (let start = firstStart; start < first.length; line++) {
        const end = lineEndIn(first, start);
        const result = parse(first, start, contentEnd(first, start, end), line);
        if (result) yield result;
        start = end + 1;
      }
      first = undefined;
    }
    for await (const block of blocks) {
      for (let start = 0; start < block.length; line++) {
        const end = lineEndIn(block, start);
        const result = parse(block, start, contentEnd(block, start, end), line);
        if (result) yield result;
        start = end + 1;
      }
    }
  }
  return {
    layout,
    featureNames: layout.featureNames,
    hasIdColumn: layout.idIndex >= 0,
    hasLabelColumn: layout.labelIndex >= 0,
    rows: rows(),
    close: async () => {
      await blocks.return(undefined);
    },
  };
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
const ID_ROLE = -1;
const LABEL_ROLE = -2;

/** Parses one data line, bytes [start, end) of a block (no line end): undefined for a blank line. */
export type CsvLineParser = (block: Buffer, start: number, end: number, line: number) => RowResult | undefined;

/** A parser of data lines for one layout. */
export function csvLineParser(layout: CsvLayout): CsvLineParser {
  const { header, idIndex, labelIndex, featureIndexes } = layout;
  const width = header.length;
  const last = width - 1;
  const d = featureIndexes.length;
  const roles = new Int32Array(width);
  for (let j = 0; j < d; j++) roles[featureIndexes[j]] = j;
  if (idIndex >= 0) roles[idIndex] = ID_ROLE;
  if (labelIndex >= 0) roles[labelIndex] = LABEL_ROLE;
  const vectors = new FeatureVectors(d);
  const columnName = (i: number) => (i < width ? `column "${header[i]}"` : `field ${i + 1}`);

  const finish = (line: number, features: Float64Array, id: string | undefined, labelText: string): RowResult => {
    if (id === '') return { line, reason: `${columnName(idIndex)} is empty` };
    const row: ParsedRow = { line, row: line - 2, id, label: labelFromText(labelText), features };
    return row;
  };

  /** The general path, for any line: decode, split into fields, then read them. */
  const parseText = (text: string, line: number): RowResult => {
    const fields = splitCsvLine(text);
    if (!Array.isArray(fields)) {
      const where = columnName(fields.field);
      const reason = {
        'unterminated quote': `unterminated quote in ${where} (line breaks inside quotes are not supported)`,
        'text after closing quote': `text after the closing quote in ${where}`,
        'stray quote': `quote inside the unquoted ${where}`,
      }[fields.problem];
      return { line, reason };
    }
    if (fields.length !== width) return { line, reason: `expected ${width} fields, found ${fields.length}` };
    const features = vectors.next();
    for (let j = 0; j < d; j++) {
      const field = fields[featureIndexes[j]];
      const v = parseFeatureText(field);
      if (Number.isNaN(v)) return { line, reason: textFeatureProblem(columnName(featureIndexes[j]), field) };
      features[j] = v;
    }
    return finish(
      line,
      features,
      idIndex >= 0 ? fields[idIndex] : undefined,
      labelIndex >= 0 ? fields[labelIndex] : '',
    );
  };

  /**
   * The general path for bytes [start, end) of a block. Not a closure made per line: one capturing the block
   * kept the fast path's variables in a heap context (110 ms against 84 ms per 50k rows of 64 features).
   */
  const general = (b: Buffer, start: number, end: number, line: number): RowResult => {
    const text = b.toString('utf8', start, end);
    // Invalid bytes decode to U+FFFD; a U+FFFD that was in the file is valid UTF-8 and stays.
    if (text.indexOf('\ufffd') !== -1) {
      const invalid = invalidUtf8At(b, start, end);
      if (invalid !== -1) return { line, reason: invalidUtf8Reason(b, invalid, start, columnAt(b, start, invalid)) };
    }
    return parseText(text, line);
  };

  /** The column holding byte `at` of the line starting at `start` (every byte before it is valid UTF-8). */
  const columnAt = (b: Buffer, start: number, at: number): string => {
    const fields = splitCsvLine(b.toString('utf8', start, at));
    return columnName(Array.isArray(fields) ? fields.length - 1 : fields.field);
  };

  /**
   * The fast path, for lines without quotes and with plain decimals (nearly all): fields are scanned in the
   * bytes, and a feature of the form [+-]digits[.digits] with at most 15 digits is computed from its digits:
   * the integer mantissa and the power of ten are exact doubles, so one division gives the correctly rounded
   * value, as Number() does (Clinger's fast path). Anything else goes to the general path, which also
   * produces every refusal, so both paths give the same result for every line.
   */
  return (b, start, end, line) => {
    if (isBlankBytes(b, start, end)) return undefined;
    const features = vectors.next();
    let id: string | undefined;
    let labelText = '';
    let k = start;
    for (let col = 0; col < width; col++) {
      const role = roles[col];
      let c = b[k];
      if (role >= 0) {
        const negative = c === 45;
        if (negative || c === 43) c = b[++k];
        let mantissa = 0;
        let digits = 0;
        while (c >= 48 && c <= 57) {
          mantissa = mantissa * 10 + (c - 48);
          digits++;
          c = b[++k];
        }
        let scale = 0;
        if (c === 46) {
          c = b[++k];
          while (c >= 48 && c <= 57) {
            mantissa = mantissa * 10 + (c - 48);
            digits++;
            scale++;
            c = b[++k];
          }
        }
        if (!((c === 44 || k === end) && digits > 0 && digits <= 15)) return general(b, start, end, line);
        const v = scale === 0 ? mantissa : mantissa / POW10[scale];
        features[role] = negative ? -v : v;
      } else {
        if (c === 34) return general(b, start, end, line);
        const fieldStart = k;
        let bits = 0;
        while (k < end && b[k] !== 44) {
          if (b[k] === 34) return general(b, start, end, line);
          bits |= b[k];
          k++;
        }
        if (bits >= 0x80 && invalidUtf8At(b, fieldStart, k) !== -1) return general(b, start, end, line);
        const text = b.toString('utf8', fieldStart, k);
        if (role === ID_ROLE) id = text;
        else labelText = text;
      }
      // k is at the comma ending this field, or at the end of the line
      if (k === end ? col !== last : col === last) return general(b, start, end, line);
      k++;
    }
    return finish(line, features, id, labelText);
  };
}
