import { readPackedRange, unpackArrays } from '../binaryArrays.ts';
import { writeJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { partitionsOf, type ResolvedGamma } from '../propagation/partitionGraph.ts';
import { medianOfSortedParts, type SortedPart } from '../propagation/sortedPartsMedian.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/**
 * graph (reduce step, after every edges task): every partition has asked the shards about its rows and
 * boundary rows. For knn-rbf, fixes the gamma the tasks weigh edges with: the run's, or for --gamma auto the
 * median heuristic of the single-process step (1 / the median of the rows' positive k-th neighbour distances, 1
 * without any), found from the partitions' sorted distances without holding them (medianOfSortedParts). Then
 * fans out the route tasks, one per shard.
 */
export async function graphStage(ctx: StageContext, task: TaskMessage): Promise<{ tasks: TaskMessage[] }> {
  const { runId } = task;
  const run = await readRun(ctx.store, runId);
  const collected = await readCollected(ctx, runId);
  const { kernel, gamma } = run.options;
  if (kernel === 'knn-rbf') {
    let value: number;
    if (gamma === 'auto') {
      const parts: SortedPart[] = [];
      for (let s = 0; s < partitionsOf(run).count; s++) {
        const [sample, count] = unpackArrays(await ctx.store.get(keys.partitionKthSample(runId, s))) as [
          Float64Array,
          Int32Array,
        ];
        const key = keys.partitionKth(runId, s);
        parts.push({
          count: count[0],
          sample,
          readSlice: async (from, to) => (await readPackedRange(ctx.store, key, from, to)) as Float64Array,
        });
      }
      const median = await medianOfSortedParts(parts);
      value = median === undefined ? 1 : 1 / median;
    } else {
      value = gamma;
    }
    await writeJson(ctx.store, keys.propagationGamma(runId), { value } satisfies ResolvedGamma);
  }
  await updateRun(ctx.store, runId, (record) => {
    record.stage = 'route';
  });
  return { tasks: collected.shards.map((_, shard) => taskMessage(runId, 'route', 0, shard)) };
}
