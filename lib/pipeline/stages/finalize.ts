import { classCountWarning } from '../../data/classCount.ts';
import { spreadWarning } from '../../data/featureScaling.ts';
import { prepareVersion, publishVersion } from '../datasets/datasetVersions.ts';
import { readChanges } from '../datasets/versionComparison.ts';
import { incrementalReportOf } from '../incremental/incrementalReport.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { writeReportFiles } from '../outputs/outputFiles.ts';
import {
  assembleOutput,
  labelRecords,
  REJECTED_SAMPLE,
  readShardOutput,
  type ShardOutputSummary,
} from '../outputs/outputParts.ts';
import { mergeTallies, roundReportsOf } from '../outputs/roundReports.ts';
import type { RunReport } from '../outputs/runReport.ts';
import { readShardResult } from '../outputs/shardResults.ts';
import { shardMetricsOf } from '../run/fanIn.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { effectiveMaxIter, effectiveThreshold, type RunOptions } from '../runOptions.ts';
import { type Collected, loadShardIds, readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { SHARD_STAGES, type TaskMessage } from '../taskMessage.ts';
import { addTaskMetrics, measuredTask, type StageMetrics } from '../taskMetrics.ts';
import type { MethodSummary } from '../training/methods.ts';

/** The options as the method ran them: max_iter and threshold resolved, `rounds` (maxIter's alias) folded in. */
function reportedParameters(options: RunOptions): RunReport['parameters'] {
  const { rounds: _alias, ...rest } = options;
  return { ...rest, maxIter: effectiveMaxIter(options), threshold: effectiveThreshold(options) };
}

/**
 * labels.csv is the shards' parts concatenated (ObjectStore.concatenate: server-side on S3). labels.parquet is
 * streamed shard by shard (ids and result part) into one Parquet writer: its memory is the file's bytes (about
 * 25 bytes per row), not the rows; hyparquet-writer has no writer that uploads row groups as they are made.
 * Returns the file's name.
 */
async function writeLabels(ctx: StageContext, runId: string, collected: Collected, format: 'csv' | 'parquet') {
  const shards = collected.shards.map((_, s) => s);
  if (format === 'csv') {
    await assembleOutput(ctx, runId, 'labels.csv', shards);
    return 'labels.csv';
  }
  async function* records() {
    for (const s of shards) {
      const ids = await loadShardIds(ctx, runId, collected, s);
      yield* labelRecords(ids, collected.classes, await readShardResult(ctx, runId, s));
    }
  }
  const { labelsParquetBytes } = await import('../../data/parquetWriter.ts');
  await ctx.store.put(keys.output(runId, 'labels.parquet'), await labelsParquetBytes(records()));
  return 'labels.parquet';
}

/** finalize (reduce step): writes labels, report and rejected rows to runs/<runId>/output/ and ends the run. */
export async function finalizeStage(ctx: StageContext, task: TaskMessage): Promise<Record<string, never>> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const summary = await readJson<MethodSummary>(ctx.store, keys.resultSummary(task.runId));
  // Per shard: a summary of a few kB (rows, rejected rows, round tally), never the rows themselves.
  const shards: ShardOutputSummary[] = [];
  for (let s = 0; s < collected.shards.length; s++) shards.push(await readShardOutput(ctx, task.runId, s));
  const rejected = shards.reduce((total, shard) => total + shard.rejected, 0);
  const rejectedSample = shards.flatMap((shard) => shard.rejectedSample).slice(0, REJECTED_SAMPLE);
  const scaleWarning = collected.scaling ? spreadWarning(collected.scaling) : undefined;
  const classesWarning = classCountWarning(collected.classes.length, collected.given);
  const timings: Record<string, number> = { ...run.timings };
  const stageMetrics: Record<string, StageMetrics> = { ...run.metrics };
  for (const stage of SHARD_STAGES) {
    for (const metrics of await shardMetricsOf(ctx, task.runId, stage)) {
      timings[stage] = (timings[stage] ?? 0) + metrics.ms;
      stageMetrics[stage] = addTaskMetrics(stageMetrics[stage], metrics);
    }
  }
  // Labels are assembled (I/O) while the version's rows are compared (CPU). finalize's own figures stop here:
  // the report and the version are written after the report that holds them.
  const [labelsFile, prepared, incremental] = await Promise.all([
    writeLabels(ctx, task.runId, collected, run.options.format),
    run.versioned
      ? readChanges(ctx, run, collected).then((compared) => prepareVersion(ctx, run, collected, compared))
      : undefined,
    incrementalReportOf(ctx, run, collected),
  ]);
  const finalizeMs = Math.round(performance.now() - started);
  stageMetrics.finalize = addTaskMetrics(undefined, measuredTask(ctx.meter, finalizeMs));
  const report: RunReport = {
    runId: run.runId,
    method: run.options.method,
    ...(run.methodReason ? { methodReason: run.methodReason } : {}),
    ...(run.auto ? { auto: run.auto } : {}),
    parameters: reportedParameters(run.options),
    ...(run.neighbors ? { neighbors: run.neighbors } : {}),
    ...(collected.scaling ? { scaling: collected.scaling } : {}),
    n: collected.n,
    d: collected.d,
    classes: collected.classes,
    given: collected.given,
    rounds: roundReportsOf(mergeTallies(shards.map((shard) => shard.tally)), collected.classes),
    convergence: summary.convergence,
    ...(summary.unreached ? { unreached: summary.unreached } : {}),
    ...(summary.gamma ? { gamma: summary.gamma } : {}),
    ...(summary.views ? { views: summary.views } : {}),
    ...(run.holdout ? { holdout: run.holdout } : {}),
    timings: { ...timings, finalize: finalizeMs },
    stageMetrics,
    ...(prepared ? { changes: prepared.changes } : {}),
    ...(incremental ? { incremental } : {}),
    rejected,
    rejectedSample,
    warnings: [
      ...(classesWarning ? [classesWarning] : []),
      ...(scaleWarning ? [scaleWarning] : []),
      ...summary.warnings,
    ],
  };
  const outputs: string[] = [labelsFile];
  if (rejected > 0) {
    const rejecting = collected.shards.map((_, s) => s).filter((s) => shards[s].rejected > 0);
    await assembleOutput(ctx, task.runId, 'rejected.csv', rejecting);
    outputs.push('rejected.csv');
  }
  const prefix = keys.output(task.runId, '');
  for (const key of await writeReportFiles(ctx.store, prefix, report)) outputs.push(key.slice(prefix.length));
  const version = prepared ? await publishVersion(ctx, run, prepared, outputs) : undefined;
  let ended = false;
  const finished = await updateRun(ctx.store, task.runId, (record) => {
    ended = record.status === 'running';
    if (version !== undefined) record.version = version;
    record.status = 'succeeded';
    record.stage = 'finalize';
    record.finishedAt = new Date().toISOString();
  });
  if (ended) ctx.runEnded?.(finished);
  return {};
}
