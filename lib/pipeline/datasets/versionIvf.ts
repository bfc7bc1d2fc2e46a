import { NotFoundError } from '../../adapters/errors.ts';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import type { CellRanges } from '../../graph/ivf/cellRanges.ts';
import type { IvfModel } from '../../graph/ivf/ivfModel.ts';
import { INDEX_FORMAT, indexKeys, objectsAt, type VersionIndex } from '../incremental/versionIndex.ts';
import { readJson } from '../jsonObjects.ts';
import { type RangeCellsPart, readIvfTrainingObject, readProbedCellsAt } from '../neighbors/ivfObjects.ts';
import { datasetKeys } from './datasetVersions.ts';

/**
 * A dataset version's IVF index as `predict` searches it: the centroids and cell ranges (index/ivf/training.bin),
 * the nprobe the run calibrated (index.json `lists`), and each cell range's cells objects (the rows grouped by
 * cell, with their global row numbers: the model's rows), which a version may keep from an earlier one
 * (`cellsAt`). Only versions whose lists were approximate keep one.
 */
export interface VersionIvf {
  readonly model: IvfModel;
  readonly ranges: CellRanges;
  readonly nprobe: number;
  /**
   * Range `range`'s rows in the wanted cells (`wanted[i]` = 1 for the range's i-th cell, ascending), one part per
   * shard with rows: ranged reads of its cells objects (readProbedCellsAt), not whole objects.
   */
  readonly readRange: (range: number, wanted: Uint8Array) => Promise<RangeCellsPart[]>;
}

/**
 * The IVF index of `version`, read through a store at the dataset's directory (datasets/<dataset>/), or
 * undefined when the version keeps none (exact lists, another index format, a model copied out of its dataset).
 */
export async function openVersionIvf(
  datasetStore: ObjectStore,
  dataset: string,
  version: number,
): Promise<VersionIvf | undefined> {
  const inDataset = (key: string) => key.slice(datasetKeys.dataset(dataset).length);
  let index: VersionIndex;
  try {
    index = await readJson<VersionIndex>(datasetStore, inDataset(indexKeys.index(dataset, version)));
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  const nprobe = index.lists?.mode === 'approx' ? index.lists.nprobe : undefined;
  const trainingKey = inDataset(indexKeys.ivfTraining(dataset, version));
  if (index.format !== INDEX_FORMAT || nprobe === undefined || !(await datasetStore.exists(trainingKey))) {
    return undefined;
  }
  const { model, ranges } = await readIvfTrainingObject(datasetStore, trainingKey);
  const shards = index.rows.flatMap((rows, shard) => (rows.rows > 0 ? [shard] : []));
  return {
    model,
    ranges,
    nprobe,
    readRange: (range, wanted) =>
      readProbedCellsAt(
        datasetStore,
        shards.map((shard) => {
          const at = objectsAt(index, version, shard, 'cells');
          return { key: inDataset(indexKeys.rangeCells(dataset, at.version, range, at.shard)), wanted };
        }),
      ),
  };
}
