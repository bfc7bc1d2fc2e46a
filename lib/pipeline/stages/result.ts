import { normalizeRows } from '../../algorithms/propagation.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { writeShardOutput } from '../outputs/outputParts.ts';
import { markOrigins, outcomeFromDistributions } from '../outputs/rowOutcome.ts';
import { writeShardResult } from '../outputs/shardResults.ts';
import { readPartitionState } from '../propagation/partitionGraph.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { loadShardIds, readCollected, readCollectedOrigins } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';
import type { MethodSummary } from './propagate.ts';

/**
 * result (shard task, after the last converge step of a fanned-out propagation): this partition's rows of the final F (after n_iter_
 * updates, result.json) normalised row by row as propagateLabels ends, and their outcome (label, confidence,
 * source, round; a row no label reached gets source none) written as the shard's result part, and the shard's
 * output parts (outputParts.ts).
 */
export async function resultStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const { runId, shard } = task;
  const collected = await readCollected(ctx, runId);
  const { rows, offset } = collected.shards[shard];
  const summary = await readJson<MethodSummary>(ctx.store, keys.resultSummary(runId));
  const [F] = unpackArrays(await ctx.store.get(keys.partitionRows(runId, summary.convergence.nIter, shard))) as [
    Float64Array,
  ];
  const classes = collected.classes.length;
  normalizeRows(F, classes);
  const { y } = await readPartitionState(ctx, runId, shard);
  const outcome = outcomeFromDistributions(y, F, classes);
  markOrigins(outcome, await readCollectedOrigins(ctx, runId, offset, offset + rows));
  await writeShardResult(ctx, runId, shard, outcome);
  const { options, versioned } = await readRun(ctx.store, runId);
  // A run that publishes a dataset version keeps its label distributions for the version's model.
  if (versioned) await ctx.store.put(keys.shardDistributions(runId, shard), packArrays([F]));
  await writeShardOutput(
    ctx,
    runId,
    options,
    collected,
    shard,
    await loadShardIds(ctx, runId, collected, shard),
    outcome,
  );
  await completeShardTask(ctx, task, collected.shards.length, 'finalize', {
    ms: Math.round(performance.now() - started),
    rows,
  });
}
