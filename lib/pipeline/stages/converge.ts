import { readJson, writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { partitionsOf, readResolvedGamma } from '../propagation/partitionGraph.ts';
import { gammaWarning, unreachedHint, usesGamma } from '../propagation/unreached.ts';
import { roundMetricsOf } from '../run/fanIn.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { effectiveMaxIter } from '../runOptions.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';
import type { MethodSummary } from '../training/methods.ts';

/** runs/<runId>/propagation/converge-<r>.json: the residuals of updates 1..r. */
interface ConvergenceState {
  readonly deltas: number[];
}

/**
 * converge (reduce step, round r: after the degrees tasks for r = 0, after iterate round r otherwise): sums the
 * partitions' residuals sum |F_r - F_{r-1}| (for r = 0, sum |F0|) in shard order and applies scikit-learn's test
 * as propagateLabels' loop does: before update r+1, stop (converged, n_iter_ = r) when the residual is below tol;
 * after maxIter updates stop unconverged. Then writes result.json and fans out the result tasks (one per shard); otherwise
 * fans out iterate round r+1 (one task per partition). The partitions' markers also count their unreached rows (report.json `unreached`). The residual adds the partitions' sums, so its last bits may differ from the
 * one-process sum over all rows (as they do there between the plain and the renumbered loop).
 */
export async function convergeStage(ctx: StageContext, task: TaskMessage): Promise<{ tasks: TaskMessage[] }> {
  const { runId, round } = task;
  const run = await readRun(ctx.store, runId);
  const collected = await readCollected(ctx, runId);
  const metrics = await roundMetricsOf(ctx, runId, round === 0 ? 'degrees' : 'iterate', round);
  let delta = 0;
  let unreached = 0;
  for (const part of metrics) {
    delta += part.delta ?? 0;
    unreached += part.unreached ?? 0;
  }
  const deltas =
    round === 0 ? [] : [...(await readJson<ConvergenceState>(ctx.store, keys.convergence(runId, round - 1))).deltas];
  if (round > 0) deltas.push(delta);
  await writeJson(ctx.store, keys.convergence(runId, round), { deltas } satisfies ConvergenceState);

  const maxIter = effectiveMaxIter(run.options);
  if (round < maxIter && !(delta < run.options.tol)) {
    await updateRun(ctx.store, runId, (record) => {
      record.stage = 'iterate';
      record.round = round + 1;
    });
    const { count } = partitionsOf(run);
    return {
      tasks: Array.from({ length: count }, (_, partition) => taskMessage(runId, 'iterate', round + 1, partition)),
    };
  }
  const converged = round < maxIter;
  const spreading = run.options.method === 'label-spreading';
  const warnings = converged
    ? []
    : [`label ${spreading ? 'spreading' : 'propagation'} did not converge in maxIter=${maxIter}`];
  const fixedGammaWarning = usesGamma(run.options) ? gammaWarning(run.options, unreached, collected.n) : undefined;
  if (fixedGammaWarning) warnings.push(fixedGammaWarning);
  for (const warning of warnings) ctx.log.warn(warning, { runId });
  const summary: MethodSummary = {
    convergence: {
      nIter: round,
      converged,
      terminationReason: converged ? 'converged' : 'max_iter',
      finalDelta: deltas.length > 0 ? deltas[deltas.length - 1] : null,
      deltas,
    },
    unreached: { rows: unreached, ...(unreached > 0 ? { hint: unreachedHint(run.options) } : {}) },
    ...(usesGamma(run.options)
      ? {
          gamma: { value: (await readResolvedGamma(ctx, runId, run.options)) ?? 0, auto: run.options.gamma === 'auto' },
        }
      : {}),
    warnings,
  };
  await writeJson(ctx.store, keys.resultSummary(runId), summary);
  await updateRun(ctx.store, runId, (record) => {
    record.stage = 'result';
    record.round = 0;
  });
  // One result task per shard: each brings its rows back to input order.
  return { tasks: collected.shards.map((_, shard) => taskMessage(runId, 'result', 0, shard)) };
}
