import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { readIvfCodes, readShardSample, writeIvfTraining } from '../neighbors/ivfObjects.ts';
import { concatRows, trainFromSamples } from '../neighbors/ivfTraining.ts';
import { readRun, updateRun } from '../run/runRecord.ts';
import { readCollected } from '../shards/collected.ts';
import type { StageContext } from '../stageContext.ts';
import { type TaskMessage, taskMessage } from '../taskMessage.ts';

/**
 * train (reduce step, after every sample task): k-means on the shards' sample rows (in shard order, so in global
 * index order: the same model for every shard count), the calibration queries, the cell ranges and collect's
 * 16-bit codes as the run's IVF training (training.bin); then fans out the cells tasks. It holds the sample only
 * (about 40 rows a cell), never the rows of the run.
 */
export async function trainStage(ctx: StageContext, task: TaskMessage): Promise<{ tasks: TaskMessage[] }> {
  const run = await readRun(ctx.store, task.runId);
  const collected = await readCollected(ctx, task.runId);
  const { n, d } = collected;
  const samples: FeatureMatrix[] = [];
  const queries: FeatureMatrix[] = [];
  for (let s = 0; s < collected.shards.length; s++) {
    const part = await readShardSample(ctx, task.runId, s, d);
    samples.push(part.sample);
    queries.push(part.queries);
  }
  const shards = collected.shards.length;
  const training = trainFromSamples(concatRows(samples, d), concatRows(queries, d), n, run.options.seed, shards);
  const codes = await readIvfCodes(ctx, task.runId);
  await writeIvfTraining(ctx, task.runId, codes === undefined ? training : { ...training, codes });
  await updateRun(ctx.store, task.runId, (record) => {
    record.stage = 'cells';
  });
  return { tasks: Array.from({ length: shards }, (_, s) => taskMessage(task.runId, 'cells', 0, s)) };
}
