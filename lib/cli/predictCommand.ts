import { resolve } from 'node:path';
import { NotFoundError } from '../adapters/errors.ts';
import type { ObjectStore } from '../adapters/objectStore.ts';
import { storeFromUrl } from '../adapters/storeFromUrl.ts';
import { describeDifference } from '../data/inputColumns.ts';
import { type LabelRecord, labelsCsvBytes } from '../data/labelsWriter.ts';
import { readDataset } from '../data/readDataset.ts';
import { REJECTED_CSV_HEADER, rejectedCsvLine } from '../data/rejectedWriter.ts';
import { InputError } from '../errors.ts';
import { outputTarget } from '../hosts/embedded/runLocations.ts';
import type { LatestVersion, VersionRecord } from '../pipeline/datasets/datasetVersions.ts';
import { openVersionIvf, type VersionIvf } from '../pipeline/datasets/versionIvf.ts';
import { MODEL_FILE, predictProba, type VersionModel } from '../pipeline/datasets/versionModel.ts';
import { readJson } from '../pipeline/jsonObjects.ts';

export interface PredictFlags {
  readonly model: string;
  readonly input: string;
  readonly out: string;
}

async function readOptional<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  try {
    return await readJson<T>(store, key);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * The model under a location: a version directory (versions/<n>/, holding model/), or a dataset directory
 * (datasets/<dataset>/, whose latest.json names the version).
 */
async function openModel(
  location: string,
): Promise<{ store: ObjectStore; prefix: string; model: VersionModel; ivf?: VersionIvf }> {
  const store = storeFromUrl(location);
  let prefix = '';
  const latest = await readOptional<LatestVersion>(store, 'latest.json');
  if (latest !== undefined) prefix = `versions/${latest.version}/`;
  const model = await readOptional<VersionModel>(store, `${prefix}model/${MODEL_FILE}`);
  if (model !== undefined) {
    const ivf = await openIndex(location, store, prefix, latest !== undefined);
    return { store, prefix: `${prefix}model/`, model, ...(ivf ? { ivf } : {}) };
  }
  const version = await readOptional<VersionRecord>(store, `${prefix}version.json`);
  if (version !== undefined) {
    throw new InputError(
      `version ${version.version} of dataset ${version.dataset} keeps no model: its run used ${version.options.method}; ` +
        'predict needs a version made by label-spreading or label-propagation',
    );
  }
  throw new InputError(`${store.describe(prefix)} is not a dataset version: no model/${MODEL_FILE} or version.json`);
}

/**
 * The version's IVF index when its lists were approximate (versionIvf.ts), read through the dataset's directory:
 * the location itself when it is one, else two levels up from the version directory (datasets/<d>/versions/<n>),
 * since a version may keep cells objects of an earlier one. Undefined for a version without one, or a version
 * directory taken out of its dataset: predict then searches every model row.
 */
async function openIndex(
  location: string,
  store: ObjectStore,
  prefix: string,
  isDatasetDir: boolean,
): Promise<VersionIvf | undefined> {
  const version = await readOptional<VersionRecord>(store, `${prefix}version.json`);
  if (version === undefined) return undefined;
  if (isDatasetDir) return openVersionIvf(store, version.dataset, version.version);
  // A version directory: its dataset's directory is two levels up, unless it was copied out of it.
  const datasetStore = storeFromUrl(twoLevelsUp(location));
  const kept = await readOptional<VersionRecord>(datasetStore, `versions/${version.version}/version.json`);
  if (kept?.runId !== version.runId) return undefined;
  return openVersionIvf(datasetStore, version.dataset, version.version);
}

function twoLevelsUp(location: string): string {
  const s3 = /^(s3:\/\/[^/]+\/)(.*)$/.exec(location);
  if (!s3) return resolve(location, '..', '..');
  return s3[1] + s3[2].replace(/\/+$/, '').split('/').slice(0, -2).join('/');
}

/**
 * `pseudolabel predict --model <version dir | dataset dir | s3://...> --input new.csv --out preds/`: labels new rows
 * with a version's model (versionModel.ts: scikit-learn's LabelSpreading.predict semantics), in the run's format
 * with source `predicted`. Holds the new rows (m x d floats), their probabilities (m x classes) and one model part.
 */
export async function predictCommand(flags: PredictFlags): Promise<number> {
  const { store, prefix, model, ivf } = await openModel(flags.model);
  const { dataset, rejected } = await readDataset(flags.input, {
    unlabelled: true,
    labelColumn: model.labelColumn,
    idColumn: model.idColumn,
  });
  const difference = describeDifference(model.featureNames, dataset.featureNames);
  if (difference) throw new InputError(`${flags.input}: feature columns differ from the model's: ${difference}`);
  const out = outputTarget(flags.out);
  await out.prepare(flags.input);
  const proba = await predictProba(store, prefix, model, dataset.X, ivf);
  const k = model.classes.length;
  const records: LabelRecord[] = dataset.ids.map((id, i) => {
    // scikit-learn's predict: classes_[argmax] (the first of equal maxima). A row no training row weighs on (its
    // probabilities 0/0) gets no label.
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[i * k + c] > proba[i * k + best]) best = c;
    const confidence = proba[i * k + best];
    return Number.isNaN(confidence)
      ? { id, label: null, confidence: 0, source: 'none' }
      : { id, label: model.classes[best], confidence, source: 'predicted' };
  });
  if (model.format === 'parquet') {
    const { labelsParquetBytes } = await import('../data/parquetWriter.ts');
    await out.write('labels.parquet', await labelsParquetBytes(records));
  } else {
    await out.write('labels.csv', labelsCsvBytes(records));
  }
  if (rejected.length > 0) {
    await out.write('rejected.csv', Buffer.from(REJECTED_CSV_HEADER + rejected.map(rejectedCsvLine).join('')));
    process.stderr.write(`pseudolabel: ${rejected.length} rows rejected (reasons in rejected.csv)\n`);
  }
  process.stderr.write(
    `pseudolabel: predicted ${records.filter((r) => r.source === 'predicted').length.toLocaleString('en-US')} of ` +
      `${records.length.toLocaleString('en-US')} rows with ${model.method} (${model.kernel}) from ${flags.model}` +
      `${ivf ? ` (its IVF index, nprobe ${ivf.nprobe})` : ''}; wrote ${flags.out}\n`,
  );
  return 0;
}
