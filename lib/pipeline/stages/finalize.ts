import { spreadWarning } from '../../data/featureScaling.ts';
import { loadAllIds, readCollected } from '../collected.ts';
import { shardMetricsOf } from '../fanIn.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { labelRecords, writeOutputFiles } from '../outputFiles.ts';
import { allRejected } from '../rejectedRows.ts';
import { roundReports } from '../roundReports.ts';
import { emptyOutcome } from '../rowOutcome.ts';
import { effectiveMaxIter, effectiveThreshold, type RunOptions } from '../runOptions.ts';
import { readRun, updateRun } from '../runRecord.ts';
import type { RunReport } from '../runReport.ts';
import type { ShardPlan } from '../shardPlan.ts';
import { readShardResult } from '../shardResults.ts';
import type { StageContext } from '../stageContext.ts';
import { SHARD_STAGES, type TaskMessage } from '../taskMessage.ts';
import { addTaskMetrics, measuredTask, type StageMetrics } from '../taskMetrics.ts';
import type { MethodSummary } from './propagate.ts';

/** The options as the method ran them: max_iter and threshold resolved, `rounds` (maxIter's alias) folded in. */
function reportedParameters(options: RunOptions): RunReport['parameters'] {
  const { rounds: _alias, ...rest } = options;
  return { ...rest, maxIter: effectiveMaxIter(options), threshold: effectiveThreshold(options) };
}

/** finalize (reduce step): writes labels, report and rejected rows to runs/<runId>/output/ and ends the run. */
export async function finalizeStage(ctx: StageContext, task: TaskMessage): Promise<Record<string, never>> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const plan = await readJson<ShardPlan>(ctx.store, keys.plan(task.runId));
  const collected = await readCollected(ctx, task.runId);
  const ids = await loadAllIds(ctx, task.runId, collected);
  const outcome = emptyOutcome(collected.n);
  for (let s = 0; s < collected.shards.length; s++) {
    const part = await readShardResult(ctx, task.runId, s);
    const { offset } = collected.shards[s];
    outcome.label.set(part.label, offset);
    outcome.confidence.set(part.confidence, offset);
    outcome.source.set(part.source, offset);
    outcome.round.set(part.round, offset);
  }
  const summary = await readJson<MethodSummary>(ctx.store, keys.resultSummary(task.runId));
  const rejected = await allRejected(ctx, task.runId, plan, collected.duplicates);

  const scaleWarning = collected.scaling ? spreadWarning(collected.scaling) : undefined;
  const timings: Record<string, number> = { ...run.timings };
  const stageMetrics: Record<string, StageMetrics> = { ...run.metrics };
  for (const stage of SHARD_STAGES) {
    for (const metrics of await shardMetricsOf(ctx, task.runId, stage)) {
      timings[stage] = (timings[stage] ?? 0) + metrics.ms;
      stageMetrics[stage] = addTaskMetrics(stageMetrics[stage], metrics);
    }
  }
  // finalize's own figures stop here: the output files are written after the report that holds them.
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
    rounds: roundReports(outcome, collected.classes),
    convergence: summary.convergence,
    ...(summary.unreached ? { unreached: summary.unreached } : {}),
    ...(summary.gamma ? { gamma: summary.gamma } : {}),
    ...(summary.views ? { views: summary.views } : {}),
    ...(summary.holdout ? { holdout: summary.holdout } : {}),
    timings: { ...timings, finalize: finalizeMs },
    stageMetrics,
    rejected: rejected.length,
    rejectedSample: rejected.slice(0, 100),
    warnings: [...(scaleWarning ? [scaleWarning] : []), ...summary.warnings],
  };
  await writeOutputFiles(
    ctx.store,
    keys.output(task.runId, ''),
    labelRecords(ids, collected.classes, outcome),
    report,
    rejected,
    run.options.format,
  );
  await updateRun(ctx.store, task.runId, (record) => {
    record.status = 'succeeded';
    record.stage = 'finalize';
    record.finishedAt = new Date().toISOString();
  });
  return {};
}
