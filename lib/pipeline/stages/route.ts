import { packArrays } from '../binaryArrays.ts';
import { keys } from '../keys.ts';
import {
  decodePartitionAsks,
  encodeEdgeBucket,
  forEachInFlight,
  PARTITION_REQUESTS_IN_FLIGHT,
  type PartitionAsks,
  partitionsOf,
  writeRowPartitions,
} from '../propagation/partitionGraph.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { readCollected, readCollectedLabelRange } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * route (shard task, after the graph step): the shard's side of the fanned-out propagation's exchange. From the
 * partitions' asks (edges tasks) it learns which partition holds each of its rows and where, and writes that
 * row -> partition map (rowPartitions, read by its result task). It answers each partition with the owner of
 * every boundary row it asked about, and sends each partition holding rows of the shard a bucket: their class
 * indices, which of them the other partitions read, and the in-degree contributions of the edges ending in them.
 * Memory: the shard's rows and the edges into them from other partitions.
 */
export async function routeStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const { runId, shard } = task;
  const run = await readRun(ctx.store, runId);
  const collected = await readCollected(ctx, runId);
  const { offset, rows } = collected.shards[shard];
  const partitions = partitionsOf(run).count;
  const prefix = keys.shardAsks(runId, shard);
  const listed = await ctx.store.list(prefix);
  const asks = new Map<number, PartitionAsks>();
  await forEachInFlight(listed, PARTITION_REQUESTS_IN_FLIGHT, async (info) => {
    const partition = Number(info.key.slice(prefix.length).replace(/\.bin$/, ''));
    asks.set(partition, decodePartitionAsks(await ctx.store.get(info.key)));
  });
  const asking = [...asks.keys()].sort((a, b) => a - b);

  const partitionOf = new Int32Array(rows).fill(-1);
  const localOf = new Int32Array(rows);
  const starts = new Int32Array(partitions);
  for (const partition of asking) {
    const { start, members } = asks.get(partition)!;
    starts[partition] = start;
    for (let q = 0; q < members.length; q++) {
      const row = members[q] - offset;
      if (!(row >= 0 && row < rows) || partitionOf[row] >= 0) {
        throw new Error(`row ${members[q]} of shard ${shard} is out of place or in two partitions`);
      }
      partitionOf[row] = partition;
      localOf[row] = start + q;
    }
  }
  const missing = partitionOf.indexOf(-1);
  if (missing >= 0) throw new Error(`row ${offset + missing} of shard ${shard} is in no partition`);
  await writeRowPartitions(ctx, runId, shard, { partitionOf, starts });

  // The owner of every boundary row each partition asked about.
  await forEachInFlight(asking, PARTITION_REQUESTS_IN_FLIGHT, async (partition) => {
    const { boundary } = asks.get(partition)!;
    if (boundary.length === 0) return;
    const owners = Int32Array.from(boundary, (row) => partitionOf[row - offset]);
    await ctx.store.put(keys.boundaryOwners(runId, partition, shard), packArrays([owners]));
  });

  // One bucket per partition holding rows of the shard.
  const y = rows > 0 ? await readCollectedLabelRange(ctx, runId, offset, offset + rows) : new Int32Array(0);
  const buckets = bucketsOf(asks, asking, partitionOf, localOf, y, offset);
  await forEachInFlight([...buckets.keys()], PARTITION_REQUESTS_IN_FLIGHT, (owner) =>
    ctx.store.put(keys.edgeBucket(runId, owner, shard), buckets.get(owner)!),
  );
  await completeShardTask(ctx, task, collected.shards.length, 'routed', {
    ms: Math.round(performance.now() - started),
    rows,
  });
}

/** The buckets of the partitions holding rows of the shard, in one pass over the asks (askers ascending). */
function bucketsOf(
  asks: ReadonlyMap<number, PartitionAsks>,
  asking: readonly number[],
  partitionOf: Int32Array,
  localOf: Int32Array,
  y: Int32Array,
  offset: number,
): Map<number, Uint8Array> {
  const growing = new Map<
    number,
    {
      readers: number[];
      readEnds: number[];
      readRows: number[];
      ends: number[];
      sources: number[];
      distances: number[];
    }
  >();
  for (const owner of asking) {
    if (asks.get(owner)!.members.length === 0) continue;
    growing.set(owner, { readers: [], readEnds: [], readRows: [], ends: [], sources: [], distances: [] });
  }
  for (const reader of asking) {
    const asked = asks.get(reader)!;
    // Boundary rows ascending, so each owner's rows for this reader come out ascending (local order too).
    for (const row of asked.boundary) {
      const bucket = growing.get(partitionOf[row - offset])!;
      if (bucket.readers.at(-1) !== reader) {
        bucket.readers.push(reader);
        bucket.readEnds.push(bucket.readRows.length);
      }
      bucket.readRows.push(localOf[row - offset]);
      bucket.readEnds[bucket.readEnds.length - 1] = bucket.readRows.length;
    }
    for (let e = 0; e < asked.ends.length; e++) {
      const end = asked.ends[e] - offset;
      const bucket = growing.get(partitionOf[end])!;
      bucket.ends.push(localOf[end]);
      bucket.sources.push(asked.sources[e]);
      if (asked.distances.length > 0) bucket.distances.push(asked.distances[e]);
    }
  }
  const buckets = new Map<number, Uint8Array>();
  for (const [owner, bucket] of growing) {
    const { members } = asks.get(owner)!;
    buckets.set(
      owner,
      encodeEdgeBucket({
        y: Int32Array.from(members, (row) => y[row - offset]),
        readers: Int32Array.from(bucket.readers),
        readEnds: Int32Array.from(bucket.readEnds),
        readRows: Int32Array.from(bucket.readRows),
        ends: Int32Array.from(bucket.ends),
        sources: Int32Array.from(bucket.sources),
        distances: Float64Array.from(bucket.distances),
      }),
    );
  }
  return buckets;
}
