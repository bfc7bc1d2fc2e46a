import type { RejectedRow } from '../../data/dataset.ts';
import { idHasher } from '../../data/idHashes.ts';
import { isRefused } from '../../data/rowSource.ts';
import { decodeShard, ShardBuilder } from '../../data/shardFormat.ts';
import { copyReusedShard } from '../incremental/shardReuse.ts';
import { readJson } from '../jsonObjects.ts';
import { keys } from '../keys.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { openShardRows } from '../shards/inputReader.ts';
import type { ShardPlan } from '../shards/shardPlan.ts';
import { writeShardSummary } from '../shards/shardSummary.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * ingest (shard task): parses and validates one shard of an input file into the binary shard format (Float32
 * features, ids, raw labels, line numbers from 1 at the shard's first line, and the lines it spans); refused rows
 * go to the shard's rejected list with line and reason. collect turns the lines into the file's (shardPlace.ts).
 * Beside the shard it writes the shard's summary, which is all collect reads of it (shardSummary.ts).
 */
export async function ingestStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const reused = await copyReusedShard(ctx, run, task.shard);
  if (reused) {
    const { summary, ...counts } = reused;
    // A version made before it kept the summary: made again from the copy (one shard read).
    if (!summary) {
      const copied = decodeShard(await ctx.store.get(keys.shardData(task.runId, task.shard)));
      await writeShardSummary(ctx, task.runId, task.shard, copied, idHasher());
    }
    const ms = Math.round(performance.now() - started);
    await completeShardTask(ctx, task, run.shards, 'collect', { ms, ...counts, reused: true });
    return;
  }
  const plan = await readJson<ShardPlan>(ctx.store, keys.plan(task.runId));
  const spec = plan.shards[task.shard];
  if (!spec) throw new RangeError(`run ${task.runId} has no shard ${task.shard}`);
  const input = run.inputs[spec.input];
  const inputs = ctx.inputs(run.inputRoot);
  const file = inputs.describe(input.key);
  const reader = await openShardRows(inputs, input, spec, {
    labelColumn: run.options.labelColumn,
    idColumn: run.options.idColumn,
  });
  const shard = new ShardBuilder(plan.featureNames.length);
  const rejected: RejectedRow[] = [];
  try {
    for await (const row of reader.rows) {
      if (isRefused(row)) rejected.push({ file, line: row.line, reason: row.reason });
      else
        shard.add({
          line: row.line,
          // A default id depends on the row's line in the file, which collect knows (shardPlace.ts): left empty.
          id: row.id ?? '',
          label: row.label,
          features: row.features,
        });
    }
    shard.spannedLines = reader.spannedLines();
  } finally {
    await reader.close();
  }
  const encoded = shard.encode();
  await ctx.store.put(keys.shardData(task.runId, task.shard), encoded);
  await writeShardSummary(ctx, task.runId, task.shard, decodeShard(encoded), idHasher());
  await ctx.store.put(keys.shardRejected(task.runId, task.shard), JSON.stringify(rejected));
  await completeShardTask(ctx, task, run.shards, 'collect', {
    ms: Math.round(performance.now() - started),
    rows: shard.n,
    rejected: rejected.length,
  });
}
