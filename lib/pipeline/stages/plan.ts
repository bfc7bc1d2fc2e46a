import {
  estimateLines,
  headCachedSource,
  planByteRanges,
  planLineRanges,
  type RangeSource,
} from '../../data/byteRanges.ts';
import { inflateHead } from '../../data/decompress.ts';
import { InputFileError } from '../../data/errors.ts';
import { checkIdColumn, checkLabelColumn, describeDifference, type FileColumns } from '../../data/inputColumns.ts';
import { compressionOf } from '../../data/inputFiles.ts';
import type { ColumnOptions } from '../../data/rowSource.ts';
import { checkCapacity, estimateRows } from '../capacity.ts';
import { findShardReuse, incrementalRun } from '../incremental/shardReuse.ts';
import { keys } from '../keys.ts';
import { runDeadline } from '../run/runDeadline.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { checkShards, ROWS_PER_SHARD, runLimits, shardAllowance } from '../runLimits.ts';
import { type InputLayout, inputFormat, readInputLayout } from '../shards/inputReader.ts';
import {
  defaultShardCount,
  type RunInput,
  SHARD_BYTES,
  type ShardPlan,
  type ShardSpec,
  shardsPerFile,
} from '../shards/shardPlan.ts';
import { rangeSourceOf } from '../shards/storeSources.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/** The head of the first input whose mean line length estimates the rows of a CSV or JSONL run. */
const HEAD_SAMPLE = 256 * 1024;
/**
 * The head of each CSV/JSONL input the plan step reads, with one read: its columns, its row estimate and its
 * header's end come from it (a longer first line reads on). Nothing else of a file is read.
 */
const HEAD_BYTES = 1024 * 1024;

/**
 * The decompressed view the row estimates read: the file itself, or for a compressed file its inflated head,
 * sized as the whole file would be at the head's ratio (exact when the head is the whole file).
 */
async function plainSample(source: RangeSource, input: RunInput, file: string): Promise<RangeSource> {
  const compression = compressionOf(input.key);
  if (!compression) return source;
  const head = await source.read(0, Math.min(source.size, HEAD_BYTES));
  const inflated = await inflateHead(head, source.size, compression, file, HEAD_BYTES);
  // whole lines only, unless it is the whole file
  const bytes = inflated.whole
    ? inflated.bytes
    : inflated.bytes.subarray(0, Math.max(0, inflated.bytes.lastIndexOf(10) + 1));
  const size = inflated.whole
    ? bytes.length
    : Math.max(bytes.length + 1, Math.round((source.size * bytes.length) / Math.max(1, inflated.compressedBytes)));
  return { size, read: async (start, end) => bytes.subarray(start, Math.min(end, bytes.length)) };
}

/** Shards per file: a compressed file is one (it is read whole), the others share the rest by size. */
function shardsOfFiles(inputs: readonly RunInput[], wanted: number): number[] {
  const splittable = inputs.flatMap((input, f) => (compressionOf(input.key) ? [] : [f]));
  const counts = inputs.map(() => 1);
  if (splittable.length === 0) return counts;
  const rest = Math.max(1, wanted - (inputs.length - splittable.length));
  const split = shardsPerFile(
    splittable.map((f) => inputs[f].size),
    rest,
  );
  splittable.forEach((f, i) => {
    counts[f] = split[i];
  });
  return counts;
}

/**
 * Shards per file of an incremental run without --shards (0 for the files whose shards it reuses). Its new and
 * changed files are all the ingest and index work it has, so they are planned as a run of their own
 * (defaultShardCount of their bytes: on the embedded runner at least one shard per worker), not as their share of
 * the whole dataset's shards, which left a 10% growth file of 49 MB in one shard that one worker ingested and
 * indexed while the other waited. Under SHARD_BYTES.elastic (16 MiB) of new input, one shard per file: a split
 * saves less than a task costs.
 */
export function freshShardsOfFiles(
  inputs: readonly RunInput[],
  reused: ReadonlySet<number>,
  wanted: number,
  workers: number | undefined,
): number[] {
  const fresh = inputs.filter((_, f) => !reused.has(f));
  const freshBytes = fresh.reduce((sum, input) => sum + input.size, 0);
  const count = freshBytes < SHARD_BYTES.elastic ? 1 : Math.min(wanted, defaultShardCount(freshBytes, workers));
  const counts = shardsOfFiles(fresh, count);
  let next = 0;
  return inputs.map((_, f) => (reused.has(f) ? 0 : counts[next++]));
}

/** A file's columns for checkIdColumn and checkLabelColumn: a CSV header as it is; a Parquet schema's or JSONL record's names. */
function fileColumns(file: string, layout: InputLayout, { idColumn, labelColumn }: ColumnOptions): FileColumns {
  const { hasIdColumn, hasLabelColumn } = layout;
  const named = [...(hasIdColumn ? [idColumn] : []), ...(hasLabelColumn ? [labelColumn] : [])] as string[];
  const columns = layout.header ?? [...named, ...(layout.schema?.kind === 'vector' ? ['vector'] : layout.featureNames)];
  return { file, hasIdColumn, hasLabelColumn, declared: layout.format !== 'jsonl', columns };
}

/**
 * plan (reduce step): reads the head of every input file (columns must agree), splits the files into shards
 * (CSV/JSONL by byte ranges, a compressed file whole, Parquet by row groups), refuses a run that cannot fit its host (capacity.ts) and
 * fans out one ingest task each. It reads heads only (issue 16), never a whole file: a range's line numbers are
 * counted by its ingest task and summed by collect (shardPlace.ts).
 */
export async function planStage(ctx: StageContext, task: TaskMessage): Promise<TaskMessage[]> {
  const run = await readRun(ctx.store, task.runId);
  const inputs = ctx.inputs(run.inputRoot);
  const limits = runLimits();
  const columns = {
    labelColumn: run.options.labelColumn,
    idColumn: run.options.idColumn,
    maxColumns: limits.maxColumns,
  };
  const layouts = [];
  const fileColumnsOf: FileColumns[] = [];
  const sources = run.inputs.map((input) => headCachedSource(rangeSourceOf(inputs, input.key, input.size), HEAD_BYTES));
  // The text the columns and row estimates are read from: the file, or a compressed file's inflated head.
  const samples: RangeSource[] = [];
  for (const [f, input] of run.inputs.entries()) {
    const file = inputs.describe(input.key);
    samples.push(inputFormat(input, file) === 'parquet' ? sources[f] : await plainSample(sources[f], input, file));
    const layout = await readInputLayout(inputs, input, columns, samples[f]);
    fileColumnsOf.push(fileColumns(file, layout, columns));
    checkIdColumn(columns, fileColumnsOf[f]);
    const difference = layouts[0] ? describeDifference(layouts[0].featureNames, layout.featureNames) : '';
    if (difference) {
      throw new InputFileError(file, `feature columns differ from those of ${fileColumnsOf[0].file}: ${difference}`);
    }
    layouts.push(layout);
  }
  checkLabelColumn(columns, fileColumnsOf);
  const totalBytes = run.inputs.reduce((sum, input) => sum + input.size, 0);
  // Checked before any file is split: splitting into 100,000 ranges alone takes minutes of ranged reads.
  let estimatedRows = 0;
  let plainBytes = 0;
  for (let f = 0; f < run.inputs.length; f++) {
    const groups = layouts[f].rowGroups;
    plainBytes += samples[f].size;
    // A Parquet file is split by row groups: each may be a shard.
    if (groups) estimatedRows += groups.length * ROWS_PER_SHARD;
    else estimatedRows += await estimateLines(samples[f]);
  }
  if (run.options.shards !== undefined) checkShards(run.options.shards, estimatedRows, limits);
  const wanted =
    run.options.shards ??
    Math.min(defaultShardCount(totalBytes, run.options.workers), shardAllowance(estimatedRows, limits));
  // Dataset runs: the unchanged files' shards are the latest version's (incremental/shardReuse.ts).
  const reuse = await findShardReuse(ctx, run, layouts[0]?.featureNames ?? []);
  const perFile =
    reuse && run.options.shards === undefined
      ? freshShardsOfFiles(run.inputs, new Set(reuse.files.keys()), wanted, run.options.workers)
      : shardsOfFiles(run.inputs, wanted);
  const reusedFrom: number[] = [];

  const shards: ShardSpec[] = [];
  for (let f = 0; f < run.inputs.length; f++) {
    const input = run.inputs[f];
    const layout = layouts[f];
    for (const old of reuse?.files.get(f) ?? []) {
      reusedFrom[shards.length] = old.shard;
      shards.push({ ...old, shard: shards.length, input: f });
    }
    if (reuse?.files.has(f)) continue;
    if (layout.format === 'parquet') {
      const groups = layout.rowGroups ?? [];
      const count = Math.max(1, Math.min(perFile[f], groups.length));
      for (const range of planByteRanges(groups.length, count)) {
        shards.push({
          shard: shards.length,
          input: f,
          format: layout.format,
          start: 0,
          end: input.size,
          schema: layout.schema,
          rowGroups: groups.slice(range.start, range.end),
        });
      }
      continue;
    }
    const compression = compressionOf(input.key);
    if (compression) {
      shards.push({
        shard: shards.length,
        input: f,
        format: layout.format,
        start: 0,
        end: input.size,
        compression,
        ...(layout.schema ? { schema: layout.schema } : {}),
      });
      continue;
    }
    for (const range of await planLineRanges(sources[f], perFile[f], { header: layout.format === 'csv' })) {
      shards.push({
        shard: shards.length,
        input: f,
        format: layout.format,
        ...range,
        ...(layout.header ? { header: layout.header } : {}),
        ...(layout.schema ? { schema: layout.schema } : {}),
      });
    }
  }
  const plan: ShardPlan = { shards, featureNames: layouts[0]?.featureNames ?? [] };
  if (run.host) {
    // Refuse, before any data is read in full, a run whose tasks cannot fit the host (the labels are not read
    // yet: two classes, the least a run has).
    const head =
      layouts[0]?.format === 'parquet' ? undefined : await samples[0].read(0, Math.min(samples[0].size, HEAD_SAMPLE));
    const rows = estimateRows(plainBytes, head, plan.featureNames.length);
    checkCapacity(
      { rows, features: plan.featureNames.length, classes: 2, shards: shards.length, options: run.options },
      run.host,
    );
  }
  await ctx.store.put(keys.plan(task.runId), JSON.stringify(plan));
  await updateRun(ctx.store, task.runId, (record) => {
    record.shards = shards.length;
    record.stage = 'ingest';
    record.inputs = record.inputs.map((input, f) => ({
      ...input,
      shards: shards.filter((spec) => spec.input === f).map((spec) => spec.shard),
    }));
    if (reuse) record.incremental = incrementalRun(reuse, shards, reusedFrom);
    record.deadline = runDeadline(record.createdAt, estimatedRows, plan.featureNames.length, record.options);
  });
  return shards.map((spec) => taskMessage(task.runId, 'ingest', 0, spec.shard));
}
