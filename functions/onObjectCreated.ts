import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { OptionsError } from '../lib/errors.ts';
import { datasetOfKey, startDatasetRun } from '../lib/pipeline/datasetRuns.ts';
import { createdObjects } from '../lib/pipeline/s3Notifications.ts';
import { emitMetric } from './shared/metrics.ts';
import { handlerRuntime } from './shared/runtime.ts';

export const SERVICE = 'pseudolabel-on-object-created';
const runtime = handlerRuntime(SERVICE);

/**
 * Consumes the events queue (S3 ObjectCreated under incoming/). The event source's batching window gathers a
 * burst of uploads into one batch; its records are coalesced per dataset and each dataset gets one run over all
 * files present. Run ids derive from the files, so a later batch of the same burst starts nothing new.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const recordsOfDataset = new Map<string, string[]>();
  for (const record of event.Records) {
    let objects: ReturnType<typeof createdObjects>;
    try {
      objects = createdObjects(record.body);
    } catch (error) {
      runtime.logger.error('not an S3 notification; dropped', { messageId: record.messageId, error: String(error) });
      continue;
    }
    for (const { bucket, key } of objects) {
      const dataset = datasetOfKey(key);
      if (bucket !== runtime.settings.bucket || dataset === undefined) continue;
      recordsOfDataset.set(dataset, [...(recordsOfDataset.get(dataset) ?? []), record.messageId]);
    }
  }
  const failed = new Set<string>();
  for (const [dataset, messageIds] of recordsOfDataset) {
    try {
      const run = await startDatasetRun(
        runtime.ctx,
        `s3://${runtime.settings.bucket}`,
        dataset,
        'content',
        runtime.settings.host,
      );
      runtime.logger.info(run ? 'run started' : 'no data file yet', { dataset, runId: run?.runId });
    } catch (error) {
      if (error instanceof OptionsError) {
        // startDatasetRun recorded a failed run (status shows it); the metric makes the alarm fire.
        runtime.logger.error('cannot start a run: invalid options; failed run recorded', {
          dataset,
          error: error.message,
        });
        emitMetric(SERVICE, 'InvalidOptions', 1, { dataset, error: error.message });
        continue;
      }
      runtime.logger.warn('cannot start a run now; will retry', { dataset, error: String(error) });
      for (const id of messageIds) failed.add(id);
    }
  }
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
};
