import type { ObjectStore } from '../../adapters/objectStore.ts';
import { splitCsvLine } from '../../data/csvRows.ts';
import { InputError } from '../../errors.ts';
import { CONFIRMED_DIR, INCOMING_PREFIX } from './datasetRuns.ts';
import { datasetKeys, readLatest, readVersion } from './datasetVersions.ts';
import { readVersionRows } from './versionRows.ts';

/** Where a row's training label came from (collect's origins.bin, one byte per row). */
export const ORIGIN = { user: 0, carried: 1, confirmed: 2 } as const;

/** carryThreshold unset: only labels the latest version was at least this sure of are carried. */
export const DEFAULT_CARRY_THRESHOLD = 0.99;

/**
 * The confident labels of the dataset's latest version, by id: rows with a label and confidence >= threshold,
 * class-balanced like scikit-learn's k_best_per_class (SelfTrainingClassifier): every class keeps the same
 * number, the smallest class's count, its most confident rows first (ties by id). Read bucket by bucket
 * (versionRows.ts, about 65k rows each), keeping only the confident rows: memory is one bucket plus the
 * confident rows of the version, an upper bound of the carried set. Empty before the dataset's first version.
 */
export async function readCarriedLabels(
  store: ObjectStore,
  dataset: string,
  threshold: number,
): Promise<Map<string, string>> {
  const latest = await readLatest(store, dataset);
  if (latest === undefined) return new Map();
  const version = await readVersion(store, dataset, latest.version);
  const prefix = datasetKeys.versionFile(dataset, latest.version, 'rows/');
  const byClass = new Map<string, { id: string; confidence: number }[]>();
  for (let b = 0; b < version.buckets; b++) {
    for (const [id, label, confidence] of await readVersionRows(store, prefix, b)) {
      if (label === null || !(confidence >= threshold)) continue;
      const rows = byClass.get(label) ?? [];
      rows.push({ id, confidence });
      byClass.set(label, rows);
    }
  }
  const carried = new Map<string, string>();
  if (byClass.size === 0) return carried;
  const perClass = Math.min(...[...byClass.values()].map((rows) => rows.length));
  for (const [label, rows] of byClass) {
    rows.sort((a, b) => b.confidence - a.confidence || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const { id } of rows.slice(0, perClass)) carried.set(id, label);
  }
  return carried;
}

/**
 * The corrections under incoming/<dataset>/confirmed/: CSV files with an `id,label` header, by id (a later file,
 * in key order, wins). A malformed file is refused naming the file, the line and the reason.
 */
export async function readConfirmedLabels(store: ObjectStore, dataset: string): Promise<Map<string, string>> {
  const confirmed = new Map<string, string>();
  const listed = await store.list(`${INCOMING_PREFIX}${dataset}/${CONFIRMED_DIR}`);
  for (const { key } of listed.sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const file = store.describe(key);
    const lines = new TextDecoder()
      .decode(await store.get(key))
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/);
    const header = splitCsvLine(lines[0] ?? '');
    const idAt = Array.isArray(header) ? header.indexOf('id') : -1;
    const labelAt = Array.isArray(header) ? header.indexOf('label') : -1;
    if (idAt < 0 || labelAt < 0) throw new InputError(`${file}:1: a correction file needs an id,label header`);
    for (let line = 1; line < lines.length; line++) {
      if (lines[line].trim() === '') continue;
      const fields = splitCsvLine(lines[line]);
      if (!Array.isArray(fields))
        throw new InputError(`${file}:${line + 1}: ${fields.problem} in field ${fields.field + 1}`);
      const id = fields[idAt];
      const label = fields[labelAt];
      if (!id || !label) throw new InputError(`${file}:${line + 1}: a correction needs an id and a label`);
      confirmed.set(id, label);
    }
  }
  return confirmed;
}
