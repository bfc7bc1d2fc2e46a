import { InputFileError } from './errors.ts';
import { type ColumnOptions, DEFAULT_ID_COLUMN, DEFAULT_LABEL_COLUMN } from './rowSource.ts';

/** What differs between two lists of feature names, in words, or '' when they are equal. */
export function describeDifference(expected: readonly string[], found: readonly string[]): string {
  if (expected.length === found.length && expected.every((name, i) => name === found[i])) return '';
  const have = new Set(found);
  const want = new Set(expected);
  const missing = expected.filter((name) => !have.has(name));
  const extra = found.filter((name) => !want.has(name));
  const parts: string[] = [];
  const list = (names: string[]) =>
    names
      .slice(0, 5)
      .map((name) => `"${name}"`)
      .join(', ') + (names.length > 5 ? ', ...' : '');
  if (missing.length) parts.push(`missing ${list(missing)}`);
  if (extra.length) parts.push(`unexpected ${list(extra)}`);
  if (parts.length === 0) parts.push('the same columns in another order');
  return parts.join('; ');
}

/** An input file's columns as its header or schema gives them (a JSONL file's are its first record's). */
export interface FileColumns {
  readonly file: string;
  readonly hasIdColumn: boolean;
  readonly hasLabelColumn: boolean;
  /** Whether the columns are declared for every row (a CSV header, a Parquet schema), not only seen in one. */
  readonly declared: boolean;
  readonly columns: readonly string[];
}

function shownColumns(file: FileColumns): string {
  const shown = file.columns.slice(0, 10).join(', ') + (file.columns.length > 10 ? ', ...' : '');
  return `${file.declared ? 'its columns' : 'the fields of its first record'}: ${shown}`;
}

/**
 * Refuses a file without the id column when one was named (not the default `id`): a typo, which would otherwise
 * make the column meant as ids a feature. A file without the default `id` column gets default ids. JSONL files
 * declare no columns (only their first record is known, and a later record may hold the id): they pass.
 */
export function checkIdColumn({ idColumn = DEFAULT_ID_COLUMN }: ColumnOptions, file: FileColumns): void {
  if (idColumn === DEFAULT_ID_COLUMN || !file.declared || file.hasIdColumn) return;
  throw new InputFileError(file.file, `no id column "${idColumn}" (--id-column; ${shownColumns(file)})`);
}

/**
 * Refuses input in which no file has the label column when one was named (not the default `label`): a typo,
 * which would otherwise make the column meant as labels a feature (and reject every row whose label is not a
 * number). A named label column that only some files have is fine: the others are unlabelled.
 */
export function checkLabelColumn({ labelColumn = DEFAULT_LABEL_COLUMN }: ColumnOptions, files: readonly FileColumns[]) {
  if (labelColumn === DEFAULT_LABEL_COLUMN || files.length === 0 || files.some((file) => file.hasLabelColumn)) return;
  const which = files.length === 1 ? '' : ' nor in any other input file';
  throw new InputFileError(
    files[0].file,
    `no label column "${labelColumn}"${which} (--label-column; ${shownColumns(files[0])})`,
  );
}
