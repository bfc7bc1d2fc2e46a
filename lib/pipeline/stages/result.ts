import { normalizeRows } from '../../algorithms/propagation.ts';
import { packArrays, readPackedRange } from '../binaryArrays.ts';
import { writeVersionShardParts } from '../datasets/datasetVersions.ts';
import { afterOutcome } from '../datasets/versionComparison.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { writeShardOutput } from '../outputs/outputParts.ts';
import { markOrigins, outcomeFromDistributions } from '../outputs/rowOutcome.ts';
import { writeShardResult } from '../outputs/shardResults.ts';
import { forEachInFlight, PARTITION_REQUESTS_IN_FLIGHT, readRowPartitions } from '../propagation/partitionGraph.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { loadShardIds, readCollected, readCollectedLabelRange, readCollectedOrigins } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';
import type { MethodSummary } from '../training/methods.ts';

/**
 * result (shard task, after the last converge step of a fanned-out propagation): brings this shard's rows of the
 * final F (after n_iter_ updates, result.json) back to input order: its row -> partition map (route task) says
 * which partition holds each row, and the shard's rows are one block of each partition's rows, read with a
 * ranged GET. Then normalises them row by row as propagateLabels ends, and writes their outcome (label,
 * confidence, source, round; a row no label reached gets source none) as the shard's result part, and the
 * shard's output parts (outputParts.ts). Memory and input: the shard's rows x classes.
 */
export async function resultStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const { runId, shard } = task;
  const collected = await readCollected(ctx, runId);
  const { rows, offset } = collected.shards[shard];
  const summary = await readJson<MethodSummary>(ctx.store, keys.resultSummary(runId));
  const classes = collected.classes.length;
  const F = await shardRowsOfF(ctx, runId, shard, summary.convergence.nIter, rows, classes);
  normalizeRows(F, classes);
  const y = rows > 0 ? await readCollectedLabelRange(ctx, runId, offset, offset + rows) : new Int32Array(0);
  const outcome = outcomeFromDistributions(y, F, classes);
  markOrigins(outcome, await readCollectedOrigins(ctx, runId, offset, offset + rows));
  await writeShardResult(ctx, runId, shard, outcome);
  const run = await readRun(ctx.store, runId);
  // A run that publishes a dataset version keeps its label distributions for the version's model.
  if (run.versioned) await ctx.store.put(keys.shardDistributions(runId, shard), packArrays([F]));
  const ids = await loadShardIds(ctx, runId, collected, shard);
  await writeShardOutput(ctx, runId, run.options, collected, shard, ids, outcome);
  await writeVersionShardParts(ctx, run, collected, shard, ids, outcome);
  await completeShardTask(ctx, task, collected.shards.length, afterOutcome(run), {
    ms: Math.round(performance.now() - started),
    rows,
  });
}

/** The shard's rows of F after `iteration` updates, in row order, from the partitions holding them. */
async function shardRowsOfF(
  ctx: StageContext,
  runId: string,
  shard: number,
  iteration: number,
  rows: number,
  classes: number,
): Promise<Float64Array> {
  const F = new Float64Array(rows * classes);
  if (rows === 0) return F;
  const { partitionOf, starts } = await readRowPartitions(ctx, runId, shard);
  const counts = new Int32Array(starts.length);
  for (const partition of partitionOf) counts[partition]++;
  const holding = Array.from(counts.keys()).filter((partition) => counts[partition] > 0);
  const blocks = new Map<number, Float64Array>();
  await forEachInFlight(holding, PARTITION_REQUESTS_IN_FLIGHT, async (partition) => {
    const from = starts[partition] * classes;
    const key = keys.partitionRows(runId, iteration, partition);
    blocks.set(
      partition,
      (await readPackedRange(ctx.store, key, from, from + counts[partition] * classes)) as Float64Array,
    );
  });
  const taken = new Int32Array(starts.length);
  for (let i = 0; i < rows; i++) {
    const partition = partitionOf[i];
    const at = taken[partition]++ * classes;
    F.set(blocks.get(partition)!.subarray(at, at + classes), i * classes);
  }
  return F;
}
