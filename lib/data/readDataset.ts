import type { Dataset, RejectedRow } from './dataset.ts';
import { defaultId } from './defaultId.ts';
import { encodeLabels } from './encodeLabels.ts';
import { InputFileError } from './errors.ts';
import { quoteValue } from './fieldValues.ts';
import { describeDifference } from './inputColumns.ts';
import { type InputFile, listInputFiles, openInputFile } from './inputFiles.ts';
import { type ColumnOptions, DEFAULT_LABEL_COLUMN, isRefused } from './rowSource.ts';

export interface ReadDatasetOptions extends ColumnOptions {
  /**
   * Storage of the features. Default 'f32': the binary shards and the distance kernels hold Float32, so
   * reading through here gives the same numbers as the sharded pipeline does.
   */
  readonly storage?: 'f32' | 'f64';
  /** Rows to be labelled by a model (`pseudolabel predict`): no label column and no label are fine. */
  readonly unlabelled?: boolean;
}

export interface ReadDatasetResult {
  readonly dataset: Dataset;
  /** Refused rows in input order (file by file, by line). */
  readonly rejected: RejectedRow[];
  /** The files read, in order. */
  readonly files: readonly InputFile[];
}

/**
 * Reads one file, several, or a directory (see listInputFiles) into one Dataset. Every file must have the
 * same feature columns, in the same order. Refused rows, and rows whose id repeats an earlier one, are
 * returned in `rejected`. Rows without an id column get defaultId. Throws InputFileError for a file that
 * cannot be read, and when no file has the label column and no row has a label.
 */
export async function readDataset(
  paths: string | readonly string[],
  options: ReadDatasetOptions = {},
): Promise<ReadDatasetResult> {
  const files = await listInputFiles(paths);
  const several = files.length > 1;
  const ids: string[] = [];
  const labels: (string | null)[] = [];
  const lines: number[] = [];
  const fileOfRow: number[] = [];
  const seen = new Map<string, number>();
  const rejected: RejectedRow[] = [];
  let featureNames: readonly string[] | undefined;
  let anyLabelColumn = false;
  let d = 0;
  let data: Float32Array | Float64Array = options.storage === 'f64' ? new Float64Array(1024) : new Float32Array(1024);

  for (let f = 0; f < files.length; f++) {
    const file = files[f].path;
    const reader = await openInputFile(files[f], options);
    if (featureNames === undefined) {
      featureNames = reader.featureNames;
      d = featureNames.length;
    } else {
      const difference = describeDifference(featureNames, reader.featureNames);
      if (difference) {
        await reader.close();
        throw new InputFileError(file, `feature columns differ from those of ${files[0].path}: ${difference}`);
      }
    }
    anyLabelColumn ||= reader.hasLabelColumn;
    for await (const row of reader.rows) {
      if (isRefused(row)) {
        rejected.push({ file, line: row.line, reason: row.reason });
        continue;
      }
      const id = row.id ?? defaultId(row.row, several ? file : undefined);
      const first = seen.get(id);
      if (first !== undefined) {
        rejected.push({
          file,
          line: row.line,
          reason: `duplicate id ${quoteValue(id)} (first at ${files[fileOfRow[first]].path}:${lines[first]})`,
        });
        continue;
      }
      const n = ids.length;
      seen.set(id, n);
      ids.push(id);
      labels.push(row.label);
      lines.push(row.line);
      fileOfRow.push(f);
      if ((n + 1) * d > data.length) data = grow(data, (n + 1) * d);
      data.set(row.features, n * d);
    }
  }

  const { y, classes } = encodeLabels(labels);
  if (!anyLabelColumn && classes.length === 0 && !options.unlabelled) {
    const labelColumn = options.labelColumn ?? DEFAULT_LABEL_COLUMN;
    throw new InputFileError(
      files[0].path,
      `no input file has a "${labelColumn}" column, so no row is labelled (see --label-column)`,
    );
  }
  const n = ids.length;
  const dataset: Dataset = {
    ids,
    X: { data: data.slice(0, n * d), n, d },
    y,
    classes,
    featureNames: [...(featureNames ?? [])],
  };
  return { dataset, rejected, files };
}

function grow<T extends Float32Array | Float64Array>(data: T, needed: number): T {
  const bigger = new (data.constructor as new (length: number) => T)(Math.max(needed, data.length * 2));
  bigger.set(data);
  return bigger;
}
