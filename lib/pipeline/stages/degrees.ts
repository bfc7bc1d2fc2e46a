import { initialDistributions } from '../../algorithms/propagation.ts';
import { sqrtWithGuard } from '../../graph/normalizedLaplacian.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { keys } from '../keys.ts';
import {
  edgeWeight,
  readResolvedGamma,
  unreachedRows,
  writeExports,
  writePartitionState,
} from '../propagation/partitionGraph.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { readCollected, readCollectedLabelRange } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * degrees (shard task, after every edges task): reads the edge buckets that end in this partition, in the order
 * of the partitions they come from, and
 * - records who reads its rows (the exports: which partitions reach which of its rows);
 * - label spreading: sums its rows' in-degrees from the buckets' contributions, rows of the sources ascending as
 *   in normalizedLaplacianAffinity's loop (the same doubles), takes their square roots (zero degree counted as
 *   1) and writes them for itself and for each partition that reaches them;
 * - writes F0 (one-hot rows of the given labels) for itself and for each partition that reaches its rows.
 * Its completion marker carries sum |F0| of its rows, the first residual of the convergence test.
 * Memory: the partition's rows x classes, and one bucket at a time.
 */
export async function degreesStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const { offset, rows } = collected.shards[task.shard];
  const spreading = run.options.method === 'label-spreading';
  const gamma = spreading ? await readResolvedGamma(ctx, task.runId, run.options) : undefined;
  const degrees = new Float64Array(rows);
  const readers: number[] = [];
  const ends: number[] = [];
  const reachedRows: Int32Array[] = [];
  let total = 0;
  const prefix = keys.edgeBuckets(task.runId, task.shard);
  for (const info of await ctx.store.list(prefix)) {
    const [reached, contributionEnds, distances] = unpackArrays(await ctx.store.get(info.key)) as [
      Int32Array,
      Int32Array,
      Float64Array,
    ];
    readers.push(Number(info.key.slice(prefix.length).replace(/\.bin$/, '')));
    reachedRows.push(reached);
    total += reached.length;
    ends.push(total);
    for (let e = 0; e < contributionEnds.length; e++) {
      degrees[contributionEnds[e]] += edgeWeight(gamma, distances.length > 0 ? distances[e] : undefined);
    }
  }
  const readRows = new Int32Array(total);
  for (let e = 0; e < reachedRows.length; e++) readRows.set(reachedRows[e], e === 0 ? 0 : ends[e - 1]);
  const exports = { readers: Int32Array.from(readers), ends: Int32Array.from(ends), readRows };
  if (spreading) {
    sqrtWithGuard(degrees);
    await writeExports(ctx, exports, degrees, 1, (reader) => keys.partitionDegreesFor(task.runId, task.shard, reader));
  }
  const y = await readCollectedLabelRange(ctx, task.runId, offset, offset + rows);
  await writePartitionState(ctx, task.runId, task.shard, {
    ...exports,
    y,
    degrees: spreading ? degrees : new Float64Array(0),
  });
  const k = collected.classes.length;
  const F0 = initialDistributions(y, k);
  let delta = 0;
  for (let p = 0; p < F0.length; p++) delta += Math.abs(F0[p]);
  await ctx.store.put(keys.partitionRows(task.runId, 0, task.shard), packArrays([F0]));
  await writeExports(ctx, exports, F0, k, (reader) => keys.partitionRowsFor(task.runId, 0, task.shard, reader));
  await completeShardTask(ctx, task, collected.shards.length, 'converge', {
    ms: Math.round(performance.now() - started),
    rows,
    delta,
    unreached: unreachedRows(F0, k, y),
  });
}
