import type { ObjectStore } from '../adapters/objectStore.ts';
import type { RejectedRow } from '../data/dataset.ts';
import { type LabelRecord, labelsCsvBytes } from '../data/labelsWriter.ts';
import { rejectedCsvChunks } from '../data/rejectedWriter.ts';
import { renderReportHtml } from '../report/renderReportHtml.ts';
import { type RowOutcome, SOURCES } from './rowOutcome.ts';
import type { RunReport } from './runReport.ts';

/** labels.csv / labels.parquet records of every accepted row, in input order. */
export function* labelRecords(
  ids: readonly string[],
  classes: readonly string[],
  outcome: RowOutcome,
): Generator<LabelRecord> {
  for (let i = 0; i < ids.length; i++) {
    const label = outcome.label[i];
    yield {
      id: ids[i],
      label: label >= 0 ? classes[label] : null,
      confidence: outcome.confidence[i],
      source: SOURCES[outcome.source[i]],
    };
  }
}

async function text(chunks: AsyncIterable<string>): Promise<string> {
  const parts: string[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return parts.join('');
}

/** Writes rejected.csv under `prefix` of a store; returns its key. */
export async function putRejectedCsv(
  store: ObjectStore,
  prefix: string,
  rejected: readonly RejectedRow[],
): Promise<string> {
  const key = `${prefix}rejected.csv`;
  await store.put(key, await text(rejectedCsvChunks(rejected)));
  return key;
}

/**
 * Writes the output files of a run (DESIGN.md section 3, "Output") under `prefix` of a store: labels.csv (or
 * labels.parquet), report.json, report.html, and rejected.csv when any row was rejected. Returns the keys written.
 */
export async function writeOutputFiles(
  store: ObjectStore,
  prefix: string,
  records: Iterable<LabelRecord>,
  report: RunReport,
  rejected: readonly RejectedRow[],
  format: 'csv' | 'parquet',
): Promise<string[]> {
  const written: string[] = [];
  const labelsKey = `${prefix}labels.${format}`;
  if (format === 'csv') await store.put(labelsKey, labelsCsvBytes(records));
  else {
    const { labelsParquetBytes } = await import('../data/parquetWriter.ts');
    await store.put(labelsKey, await labelsParquetBytes(records));
  }
  written.push(labelsKey);
  if (rejected.length > 0) written.push(await putRejectedCsv(store, prefix, rejected));
  await store.put(`${prefix}report.json`, `${JSON.stringify(report, null, 2)}\n`);
  written.push(`${prefix}report.json`);
  await store.put(`${prefix}report.html`, await renderReportHtml(report));
  written.push(`${prefix}report.html`);
  return written;
}
