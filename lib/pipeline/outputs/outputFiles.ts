import type { ObjectStore } from '../../adapters/objectStore.ts';
import type { RejectedRow } from '../../data/dataset.ts';
import { rejectedCsvChunks } from '../../data/rejectedWriter.ts';
import { renderReportHtml } from '../../report/renderReportHtml.ts';
import type { RunReport } from './runReport.ts';

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
 * Writes report.json and report.html under `prefix` of a store (the labels and rejected rows are assembled from
 * per-shard parts: outputParts.ts). Returns the keys written.
 */
export async function writeReportFiles(store: ObjectStore, prefix: string, report: RunReport): Promise<string[]> {
  await store.put(`${prefix}report.json`, `${JSON.stringify(report, null, 2)}\n`);
  await store.put(`${prefix}report.html`, await renderReportHtml(report));
  return [`${prefix}report.json`, `${prefix}report.html`];
}
