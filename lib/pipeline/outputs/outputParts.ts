import type { RejectedRow } from '../../data/dataset.ts';
import { LABELS_CSV_HEADER, type LabelRecord, labelsCsvBytes } from '../../data/labelsWriter.ts';
import { REJECTED_CSV_HEADER, rejectedCsvLine } from '../../data/rejectedWriter.ts';
import { readJson, writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import type { RunOptions } from '../runOptions.ts';
import type { Collected } from '../shards/collected.ts';
import { placeRejected } from '../shards/shardPlace.ts';
import type { StageContext } from '../stageContext.ts';
import { type RoundTally, tallyRounds } from './roundReports.ts';
import { type RowOutcome, SOURCES } from './rowOutcome.ts';

/** Row i's labels.csv / labels.parquet record (of one shard's rows, or all). */
export function labelRecordOf(
  ids: readonly string[],
  classes: readonly string[],
  outcome: RowOutcome,
): (row: number) => LabelRecord {
  return (i) => {
    const label = outcome.label[i];
    return {
      id: ids[i],
      label: label >= 0 ? classes[label] : null,
      confidence: outcome.confidence[i],
      source: SOURCES[outcome.source[i]],
    };
  };
}

/** labels.csv / labels.parquet records of rows in input order (one shard's, or all). */
export function* labelRecords(
  ids: readonly string[],
  classes: readonly string[],
  outcome: RowOutcome,
): Generator<LabelRecord> {
  const recordOf = labelRecordOf(ids, classes, outcome);
  for (let i = 0; i < ids.length; i++) yield recordOf(i);
}

/** report.json keeps this many rejected rows as a sample. */
export const REJECTED_SAMPLE = 100;

/**
 * What a shard's output leaves for finalize besides its file parts: its rows, its rejected rows (count and the
 * first ones, for the report's sample) and the tally of its outcome for the per-round counts. Small: bounded
 * by rounds x classes, not by rows.
 */
export interface ShardOutputSummary {
  readonly rows: number;
  readonly rejected: number;
  readonly rejectedSample: RejectedRow[];
  readonly tally: RoundTally;
}

/** The duplicate-id rows collect dropped from a shard (collect lists them shard by shard, as `dropped`). */
function duplicatesOf(collected: Collected, shard: number): Collected['duplicates'] {
  let start = 0;
  for (let s = 0; s < shard; s++) start += collected.shards[s].dropped.length;
  return collected.duplicates.slice(start, start + collected.shards[shard].dropped.length);
}

/**
 * A shard's rejected rows (ingest refusals and duplicate ids), by line: concatenated in shard order, the shards'
 * parts are every rejected row in input order, file by file, by line (shards follow the files and their lines).
 */
async function shardRejected(ctx: StageContext, runId: string, collected: Collected, shard: number) {
  const duplicates = duplicatesOf(collected, shard).map(({ input: _input, ...row }): RejectedRow => row);
  const refused = await readJson<RejectedRow[]>(ctx.store, keys.shardRejected(runId, shard));
  return [...duplicates, ...placeRejected(collected.shards[shard].place, refused)].sort((a, b) => a.line - b.line);
}

/**
 * Writes a shard's parts of the output files (DESIGN.md section 3, "Output"): its labels.csv lines (csv format;
 * finalize streams labels.parquet from the result parts), its rejected.csv lines when it rejected any, and its
 * summary. Called by the task that has the shard's outcome at hand (output or outcome), so finalize only
 * concatenates parts and merges summaries: no task holds all rows.
 */
export async function writeShardOutput(
  ctx: StageContext,
  runId: string,
  options: RunOptions,
  collected: Collected,
  shard: number,
  ids: readonly string[],
  outcome: RowOutcome,
): Promise<void> {
  if (options.format === 'csv') {
    const lines = labelsCsvBytes(labelRecords(ids, collected.classes, outcome), '');
    await ctx.store.put(keys.shardOutputPart(runId, shard, 'labels.csv'), lines);
  }
  const rejected = await shardRejected(ctx, runId, collected, shard);
  if (rejected.length > 0) {
    await ctx.store.put(keys.shardOutputPart(runId, shard, 'rejected.csv'), rejected.map(rejectedCsvLine).join(''));
  }
  const summary: ShardOutputSummary = {
    rows: ids.length,
    rejected: rejected.length,
    rejectedSample: rejected.slice(0, REJECTED_SAMPLE),
    tally: tallyRounds(outcome, collected.shards[shard].offset),
  };
  await writeJson(ctx.store, keys.shardOutputSummary(runId, shard), summary);
}

export function readShardOutput(ctx: StageContext, runId: string, shard: number): Promise<ShardOutputSummary> {
  return readJson<ShardOutputSummary>(ctx.store, keys.shardOutputSummary(runId, shard));
}

/** Assembles an output file from its header and the shards' parts, in shard order (ObjectStore.concatenate). */
export async function assembleOutput(
  ctx: StageContext,
  runId: string,
  file: 'labels.csv' | 'rejected.csv',
  shards: readonly number[],
): Promise<string> {
  const header = keys.outputHeader(runId, file);
  await ctx.store.put(header, file === 'labels.csv' ? LABELS_CSV_HEADER : REJECTED_CSV_HEADER);
  const target = keys.output(runId, file);
  await ctx.store.concatenate(target, [header, ...shards.map((s) => keys.shardOutputPart(runId, s, file))]);
  return target;
}
