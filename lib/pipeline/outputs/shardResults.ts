import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { keys } from '../keys.ts';
import type { Collected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { RowOutcome } from './rowOutcome.ts';

/**
 * The per-row outcome of a run is stored per shard (keys.shardResult, runs/<runId>/shards/<s>/result.bin): the
 * four RowOutcome arrays (label, confidence, source, round) of that shard's accepted rows, in row order. Whoever
 * computes the outcome (the single-process propagate, a fanned-out propagation task, the self-training reduce or
 * its final score tasks) writes one part per shard; finalize reads them shard by shard, so no step needs the
 * outcome of all rows at once. The run-level summary stays in result.json.
 */
export async function writeShardResult(ctx: StageContext, runId: string, shard: number, outcome: RowOutcome) {
  const { label, confidence, source, round } = outcome;
  await ctx.store.put(keys.shardResult(runId, shard), packArrays([label, confidence, source, round]));
}

export async function readShardResult(ctx: StageContext, runId: string, shard: number): Promise<RowOutcome> {
  const [label, confidence, source, round] = unpackArrays(await ctx.store.get(keys.shardResult(runId, shard)));
  return { label, confidence, source, round } as RowOutcome;
}

/** The rows [start, end) of an outcome, as views (no copy). */
export function outcomeSlice(outcome: RowOutcome, start: number, end: number): RowOutcome {
  return {
    label: outcome.label.subarray(start, end),
    confidence: outcome.confidence.subarray(start, end),
    source: outcome.source.subarray(start, end),
    round: outcome.round.subarray(start, end),
  };
}

/** Writes an outcome over all rows (a single-process method's) as one part per shard. */
export async function writeShardResults(ctx: StageContext, runId: string, collected: Collected, outcome: RowOutcome) {
  await mapConcurrently(collected.shards, ({ offset, rows }, s) =>
    writeShardResult(ctx, runId, s, outcomeSlice(outcome, offset, offset + rows)),
  );
}
