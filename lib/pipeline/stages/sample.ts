import { calibrationSeed, ivfSampleRows } from '../../graph/ivf/ivfSample.ts';
import { writeShardSample } from '../neighbors/ivfObjects.ts';
import { ivfSampleRates } from '../neighbors/ivfTraining.ts';
import { completeShardTask } from '../run/fanIn.ts';
import { readRun } from '../run/runRecord.ts';
import { loadShardRows, readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import type { TaskMessage } from '../taskMessage.ts';

/**
 * sample (shard task, approximate neighbours, after collect): this shard's rows of the IVF training sample and of
 * the nprobe calibration queries, picked by a hash of their global row index (ivfSample.ts) among its accepted
 * rows as every stage reads them (scaled), for the train step. The sample is about 4% of the rows at 1M and 0.8%
 * at 100M, spread over every shard: drawn here, where each task reads its own shard, no task reads them all
 * (issue 16; collect reads only the shards' summaries).
 */
export async function sampleStage(ctx: StageContext, task: TaskMessage): Promise<void> {
  const started = performance.now();
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const rows = await loadShardRows(ctx, task.runId, task.shard, collected);
  const offset = collected.shards[task.shard].offset;
  const { sampleRate, queryRate } = ivfSampleRates(collected.n);
  const { seed } = run.options;
  const sample = ivfSampleRows(rows.X, offset, sampleRate, seed).X;
  const queries = ivfSampleRows(rows.X, offset, queryRate, calibrationSeed(seed)).X;
  await writeShardSample(ctx, task.runId, task.shard, { sample, queries });
  await completeShardTask(ctx, task, collected.shards.length, 'train', {
    ms: Math.round(performance.now() - started),
    rows: sample.n + queries.n,
  });
}
