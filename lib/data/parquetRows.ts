import { stat } from 'node:fs/promises';
import {
  type AsyncBuffer,
  asyncBufferFromFile,
  type FileMetaData,
  type ParquetScan,
  parquetMetadataAsync,
  parquetScan,
  parquetSchema,
  type SchemaTree,
} from 'hyparquet';
import { OptionsError } from '../errors.ts';
import { describeFsError, InputFileError } from './errors.ts';
import { FeatureVectors } from './featureVectors.ts';
import {
  idFromValue,
  labelFromValue,
  quoteValue,
  valueFeature,
  valueFeatureProblem,
  vectorFeatureName,
} from './fieldValues.ts';
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
 * Parquet rows, read one row group at a time with hyparquet. Columns: optional id and label, then either
 * a `vector` list column (other columns are then ignored) or numeric columns (INT32, INT64, FLOAT, DOUBLE),
 * every column other than id and label being a feature. A non-numeric feature column makes the file
 * unreadable (InputFileError): unlike CSV, Parquet states its types. Rows are numbered from 1 (`line`).
 */
export interface ParquetOptions extends ColumnOptions {
  /** File name for error messages (defaults to the path, when the input is one). */
  readonly file?: string;
  /** Row groups to read, by index (default all): an ingest task reads one. */
  readonly rowGroups?: readonly number[];
  /** Known schema (a shard gets the planner's): saves inferring the vector length. */
  readonly schema?: RowSchema;
}

/** A path, the file's bytes, or hyparquet's AsyncBuffer (e.g. ranged reads from an object store). */
export type ParquetInput = string | Uint8Array | AsyncBuffer;

export interface ParquetRowGroup {
  readonly index: number;
  /** First row (0-based) and end row (exclusive) of the group in the file. */
  readonly rowStart: number;
  readonly rowEnd: number;
}

export interface ParquetReader extends RowReader {
  readonly schema: RowSchema;
  readonly rowGroups: readonly ParquetRowGroup[];
}

const NUMERIC_TYPES = new Set(['INT32', 'INT64', 'FLOAT', 'DOUBLE']);

function nameOf(input: ParquetInput, options: ParquetOptions): string {
  return options.file ?? (typeof input === 'string' ? input : '<parquet>');
}

async function asyncBuffer(input: ParquetInput, file: string): Promise<AsyncBuffer> {
  if (typeof input === 'string') {
    try {
      const info = await stat(input);
      if (info.isDirectory()) throw new InputFileError(file, 'is a directory, expected a file');
      return await asyncBufferFromFile(input);
    } catch (error) {
      if (error instanceof InputFileError) throw error;
      throw new InputFileError(file, describeFsError(error), { cause: error });
    }
  }
  if (input instanceof Uint8Array) {
    const { buffer, byteOffset, byteLength } = input;
    return {
      byteLength,
      slice: (start, end) => buffer.slice(byteOffset + start, byteOffset + (end ?? byteLength)) as ArrayBuffer,
    };
  }
  return input;
}

async function openMetadata(
  input: ParquetInput,
  file: string,
): Promise<{ buffer: AsyncBuffer; metadata: FileMetaData }> {
  const buffer = await asyncBuffer(input, file);
  try {
    return { buffer, metadata: await parquetMetadataAsync(buffer) };
  } catch (error) {
    throw new InputFileError(
      file,
      `not a readable Parquet file: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

function rowGroupsOf(metadata: FileMetaData): ParquetRowGroup[] {
  const groups: ParquetRowGroup[] = [];
  let rowStart = 0;
  metadata.row_groups.forEach((group, index) => {
    const rowEnd = rowStart + Number(group.num_rows);
    groups.push({ index, rowStart, rowEnd });
    rowStart = rowEnd;
  });
  return groups;
}

/** The row groups of a Parquet file: the unit of work of a sharded ingest. */
export async function parquetRowGroups(
  input: ParquetInput,
  options: Pick<ParquetOptions, 'file'> = {},
): Promise<ParquetRowGroup[]> {
  return rowGroupsOf((await openMetadata(input, nameOf(input, options))).metadata);
}

function isList(column: SchemaTree): boolean {
  const { element } = column;
  return element.converted_type === 'LIST' || element.logical_type?.type === 'LIST' || column.children.length > 0;
}

function numericProblem(column: SchemaTree): string | undefined {
  const { element } = column;
  if (column.children.length > 0) return 'a nested column';
  if (!element.type || !NUMERIC_TYPES.has(element.type)) return element.type ?? 'no type';
  const logical = element.logical_type?.type;
  if (logical && logical !== 'INTEGER') return logical;
  const converted = element.converted_type;
  if (converted && !converted.startsWith('INT_') && !converted.startsWith('UINT_')) return converted;
  return undefined;
}

/** Opens a Parquet source: reads its metadata and schema, then yields the rows of the chosen row groups. */
export async function openParquetRows(input: ParquetInput, options: ParquetOptions = {}): Promise<ParquetReader> {
  const file = nameOf(input, options);
  const idColumn = options.idColumn ?? DEFAULT_ID_COLUMN;
  const labelColumn = options.labelColumn ?? DEFAULT_LABEL_COLUMN;
  if (idColumn === labelColumn) throw new OptionsError(`the id and label columns must differ, both are "${idColumn}"`);
  const { buffer, metadata } = await openMetadata(input, file);
  const columns = parquetSchema(metadata).children;
  const names = columns.map((c) => c.element.name);
  const vectorColumn = columns.find((c) => c.element.name === VECTOR_COLUMN);
  const allGroups = rowGroupsOf(metadata);
  const groups = options.rowGroups
    ? options.rowGroups.map((index) => {
        const group = allGroups[index];
        if (!group) throw new RangeError(`${file} has ${allGroups.length} row groups, no row group ${index}`);
        return group;
      })
    : allGroups;
  let scan: ParquetScan;
  try {
    scan = await parquetScan({ file: buffer, metadata, parsers: { stringFromBytes } });
  } catch (error) {
    throw new InputFileError(
      file,
      `not a readable Parquet file: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const read = async (column: string, group: ParquetRowGroup): Promise<ArrayLike<unknown>> => {
    try {
      return await scan.readColumn({ column, rowStart: group.rowStart, rowEnd: group.rowEnd });
    } catch (error) {
      throw new InputFileError(
        file,
        `corrupt Parquet data in column "${column}": ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };

  let schema: RowSchema;
  if (vectorColumn) {
    if (!isList(vectorColumn)) throw new InputFileError(file, `column "${VECTOR_COLUMN}" is not a list column`);
    schema =
      options.schema?.kind === 'vector'
        ? options.schema
        : { kind: 'vector', d: await inferVectorLength(allGroups, read, file) };
  } else {
    const features = columns.filter((c) => c.element.name !== idColumn && c.element.name !== labelColumn);
    if (features.length === 0) throw new InputFileError(file, `no feature columns (columns: ${names.join(', ')})`);
    for (const column of features) {
      const problem = numericProblem(column);
      if (problem) throw new InputFileError(file, `column "${column.element.name}" is not numeric (${problem})`);
    }
    schema = { kind: 'fields', names: features.map((c) => c.element.name) };
  }
  const wide = tooManyColumns('it has', schema.kind === 'vector' ? schema.d : schema.names.length, options);
  if (wide) throw new InputFileError(file, wide);
  if (options.schema && JSON.stringify(options.schema) !== JSON.stringify(schema)) {
    throw new InputFileError(file, `columns differ from the expected schema ${JSON.stringify(options.schema)}`);
  }
  const hasIdColumn = names.includes(idColumn);
  const hasLabelColumn = names.includes(labelColumn);
  const featureNames =
    schema.kind === 'vector' ? Array.from({ length: schema.d }, (_, j) => vectorFeatureName(j)) : [...schema.names];

  const vectors = new FeatureVectors(featureNames.length);
  async function* rows(): AsyncGenerator<RowResult> {
    for (const group of groups) {
      const ids = hasIdColumn ? await read(idColumn, group) : undefined;
      const labels = hasLabelColumn ? await read(labelColumn, group) : undefined;
      const featureColumns: ArrayLike<unknown>[] = [];
      if (schema.kind === 'vector') featureColumns.push(await read(VECTOR_COLUMN, group));
      else for (const name of schema.names) featureColumns.push(await read(name, group));
      const count = group.rowEnd - group.rowStart;
      for (let i = 0; i < count; i++) {
        const result = parseRow(group.rowStart + i, i);
        yield result;
      }
      function parseRow(row: number, i: number): RowResult {
        const line = row + 1;
        let features: Float64Array;
        if (schema.kind === 'vector') {
          const vector = featureColumns[0][i];
          if (vector === null || vector === undefined) return { line, reason: `column "${VECTOR_COLUMN}" is null` };
          const values = vector as ArrayLike<unknown>;
          if (values.length !== schema.d)
            return { line, reason: `"${VECTOR_COLUMN}" has ${values.length} values, expected ${schema.d}` };
          features = vectors.next();
          for (let j = 0; j < schema.d; j++) {
            const v = valueFeature(values[j]);
            if (v === undefined) return { line, reason: valueFeatureProblem(vectorFeatureName(j), values[j]) };
            features[j] = v;
          }
        } else {
          features = vectors.next();
          for (let j = 0; j < schema.names.length; j++) {
            const value = featureColumns[j][i];
            const v = valueFeature(value);
            if (v === undefined) return { line, reason: valueFeatureProblem(`column "${schema.names[j]}"`, value) };
            features[j] = v;
          }
        }
        if (ids?.[i] instanceof InvalidUtf8String) return { line, reason: ids[i].reason(idColumn) };
        let id: string | undefined;
        if (ids) {
          const value = ids[i];
          id = idFromValue(value);
          if (id === undefined || id === '') {
            const problem =
              value === null || value === undefined
                ? 'is null'
                : id === ''
                  ? 'is empty'
                  : `is not a string or a number: ${quoteValue(value)}`;
            return { line, reason: `column "${idColumn}" ${problem}` };
          }
        }
        if (labels?.[i] instanceof InvalidUtf8String) return { line, reason: labels[i].reason(labelColumn) };
        const label = labels ? labelFromValue(labels[i]) : null;
        if (label === undefined)
          return {
            line,
            reason: `column "${labelColumn}" is not a string, a number or null: ${quoteValue(labels?.[i])}`,
          };
        const parsed: ParsedRow = { line, row, id, label, features };
        return parsed;
      }
    }
  }
  const close = async () => {}; // hyparquet holds no open handle between reads
  return { schema, featureNames, hasIdColumn, hasLabelColumn, rowGroups: groups, rows: rows(), close };
}

/** A string value whose bytes are not UTF-8: the row is rejected (hyparquet would decode them to U+FFFD). */
class InvalidUtf8String {
  constructor(
    readonly bytes: Uint8Array,
    readonly offset: number,
  ) {}

  reason(column: string): string {
    return invalidUtf8Reason(this.bytes, this.offset, 0, `column "${column}"`, 'value');
  }
}

const utf8 = new TextDecoder();

/** hyparquet's string parser, checking the bytes first. */
function stringFromBytes(bytes: Uint8Array | undefined): string | InvalidUtf8String | undefined {
  if (!bytes) return undefined;
  const invalid = invalidUtf8At(bytes);
  if (invalid === -1) return utf8.decode(bytes);
  return new InvalidUtf8String(bytes, invalid);
}

async function inferVectorLength(
  groups: readonly ParquetRowGroup[],
  read: (column: string, group: ParquetRowGroup) => Promise<ArrayLike<unknown>>,
  file: string,
): Promise<number> {
  for (const group of groups) {
    const vectors = await read(VECTOR_COLUMN, group);
    for (let i = 0; i < vectors.length; i++) {
      const vector = vectors[i] as ArrayLike<unknown> | null | undefined;
      if (vector && vector.length > 0) return vector.length;
    }
  }
  throw new InputFileError(file, `column "${VECTOR_COLUMN}" holds no non-empty vector`);
}
