/**
 * The common shape of the row readers (csvRows, jsonlRows, parquetRows): a schema known up front and a
 * stream of rows, each either parsed or refused with its line and reason.
 */

/** A row that passed validation. */
export interface ParsedRow {
  /** 1-based line number (CSV: the header is line 1; JSONL: first line is 1; Parquet: 1-based row number). */
  readonly line: number;
  /**
   * 0-based data row number in the whole file, the default id when there is no id column: CSV line - 2,
   * JSONL line - 1, Parquet row index. Blank lines keep their number, so it does not depend on sharding.
   */
  readonly row: number;
  /** The id column's value, or undefined when the file has no id column (the caller picks a default). */
  readonly id: string | undefined;
  /** Raw label, or null for unlabelled (empty, -1, null). */
  readonly label: string | null;
  readonly features: Float64Array;
}

/** A row that was refused: where, and why. */
export interface RefusedRow {
  readonly line: number;
  readonly reason: string;
}

export type RowResult = ParsedRow | RefusedRow;

export function isRefused(row: RowResult): row is RefusedRow {
  return 'reason' in row;
}

/** Renames of the two special columns (CLI --label-column / --id-column), and the most columns a file may have. */
export interface ColumnOptions {
  readonly labelColumn?: string;
  readonly idColumn?: string;
  /** Most columns (CSV header, JSONL fields, Parquet columns) or vector values; default DEFAULT_MAX_COLUMNS. */
  readonly maxColumns?: number;
}

/** The most columns of an input file unless the host sets another (lib/pipeline/runLimits.ts). */
export const DEFAULT_MAX_COLUMNS = 100_000;

/** The reason a file is refused for its width, or undefined when `count` is within the limit. */
export function tooManyColumns(what: string, count: number, options: ColumnOptions): string | undefined {
  const max = options.maxColumns ?? DEFAULT_MAX_COLUMNS;
  if (count <= max) return undefined;
  const format = (value: number) => value.toLocaleString('en-US');
  return `${what} ${format(count)} columns, more than the limit of ${format(max)} per file`;
}

export const DEFAULT_LABEL_COLUMN = 'label';
export const DEFAULT_ID_COLUMN = 'id';
/** JSONL field / Parquet list column holding all features at once. */
export const VECTOR_COLUMN = 'vector';

/**
 * Which features a JSONL or Parquet source holds: named numeric fields, or a `vector` of fixed length.
 * Plain JSON so that a shard planner can record it in run.json and hand it to every ingest task.
 */
export type RowSchema =
  | { readonly kind: 'fields'; readonly names: readonly string[] }
  | { readonly kind: 'vector'; readonly d: number };

/** An opened source: its schema is known before the first row is read. */
export interface RowReader {
  /** Feature names in the order of ParsedRow.features. */
  readonly featureNames: readonly string[];
  /** Whether the source has the label column (when not, every row is unlabelled). */
  readonly hasLabelColumn: boolean;
  /** Whether the source has the id column (when not, ParsedRow.id is undefined). */
  readonly hasIdColumn: boolean;
  readonly rows: AsyncIterable<RowResult>;
  /** Releases the source when the rows are not read to the end (reading them to the end does it too). */
  close(): Promise<void>;
}
