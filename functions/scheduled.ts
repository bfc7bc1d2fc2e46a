import { z } from 'zod';
import { startDatasetRun } from '../lib/pipeline/datasetRuns.ts';
import { handlerRuntime } from './shared/runtime.ts';

const runtime = handlerRuntime('pseudolabel-scheduled');

const scheduledEvent = z.object({ dataset: z.string().min(1) });

/** Invoked by the retraining schedule with `{dataset}`: starts a fresh run over the dataset's current files. */
export const handler = async (event: unknown): Promise<{ runId: string | null }> => {
  const { dataset } = scheduledEvent.parse(event);
  const run = await startDatasetRun(
    runtime.ctx,
    `s3://${runtime.settings.bucket}`,
    dataset,
    'new',
    runtime.settings.host,
  );
  runtime.logger.info(run ? 'retraining run started' : 'dataset holds no data file; nothing to do', {
    dataset,
    runId: run?.runId,
  });
  return { runId: run?.runId ?? null };
};
