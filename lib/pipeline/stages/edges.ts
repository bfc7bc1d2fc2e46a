import { packArrays } from '../binaryArrays.ts';
import { keys } from '../keys.ts';
import { buildPartitionEdges, kthDistances, writePartitionEdges } from '../propagation/partitionGraph.ts';
import { sampleOf } from '../propagation/sortedPartsMedian.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * edges (shard task, first pass of the fanned-out propagation): buckets this partition's edges by the partition
 * of their end. The bucket for partition t holds the rows of t this partition reaches (ascending, local to t)
 * and, for label spreading, each edge's contribution to the in-degree of its end (scipy's laplacian sums
 * columns, the diagonal left out: the end and, for knn-rbf, the distance its weight comes from), in edge order,
 * so that t's degrees task adds them in the single-process order (rows ascending). It also stores the
 * partition's edges for its iterate tasks (writePartitionEdges) and, for --gamma auto, its rows' k-th
 * neighbour distances for the graph step's median.
 * Memory: the partition's lists and its buckets.
 */
export async function edgesStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const edges = await buildPartitionEdges(ctx, task.runId, collected, run.options, task.shard);
  await writePartitionEdges(ctx, task.runId, edges);
  const spreading = run.options.method === 'label-spreading';
  if (run.options.kernel === 'knn-rbf' && run.options.gamma === 'auto') {
    const kth = kthDistances(edges);
    await ctx.store.put(keys.partitionKth(task.runId, task.shard), packArrays([kth]));
    await ctx.store.put(
      keys.partitionKthSample(task.runId, task.shard),
      packArrays([sampleOf(kth), Int32Array.of(kth.length)]),
    );
  }
  const { offset, k, distances, reached, positions, blocks } = edges;
  const rbf = distances.length > 0;
  // The in-degree contributions, counted then filled per destination block in edge order.
  const blockOf = new Int32Array(reached.length);
  for (let b = 0; b < blocks.length; b++) blockOf.fill(b, blocks[b].from, blocks[b].to);
  const counts = new Int32Array(blocks.length);
  const contributes = (p: number) => spreading && reached[positions[p]] !== offset + Math.floor(p / k);
  for (let p = 0; p < positions.length; p++) if (contributes(p)) counts[blockOf[positions[p]]]++;
  const ends = blocks.map((_, b) => new Int32Array(counts[b]));
  const contributions = blocks.map((_, b) => new Float64Array(rbf ? counts[b] : 0));
  counts.fill(0);
  for (let p = 0; p < positions.length; p++) {
    if (!contributes(p)) continue;
    const b = blockOf[positions[p]];
    if (rbf) contributions[b][counts[b]] = distances[p];
    ends[b][counts[b]++] = reached[positions[p]] - collected.shards[blocks[b].shard].offset;
  }
  for (let b = 0; b < blocks.length; b++) {
    const { shard, from, to } = blocks[b];
    const start = collected.shards[shard].offset;
    const rows = Int32Array.from(reached.subarray(from, to), (row) => row - start);
    await ctx.store.put(keys.edgeBucket(task.runId, shard, task.shard), packArrays([rows, ends[b], contributions[b]]));
  }
  await completeShardTask(ctx, task, collected.shards.length, 'graph', {
    ms: Math.round(performance.now() - started),
    rows: edges.rows,
  });
}
