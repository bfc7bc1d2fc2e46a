import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { OptionsError } from '../../errors.ts';
import { datasetOfKey, startDatasetRun } from '../../pipeline/datasets/datasetRuns.ts';
import { createdObjects } from '../../pipeline/datasets/s3Notifications.ts';
import { emitEvent } from './metrics.ts';
import type { HandlerRuntime } from './runtime.ts';

/** The service name of the events queue's consumer (its logs and metrics). */
export const OBJECT_CREATED_SERVICE = 'pseudolabel-on-object-created';

/**
 * Handles a batch of the events queue (S3 ObjectCreated under incoming/). The event source's batching window
 * gathers a burst of uploads into one batch; its records are coalesced per dataset and each dataset gets one run
 * over all files present (started once per batch, whichever records name it). Run ids derive from the files, so
 * a later batch of the same burst starts nothing new.
 *
 * Batch failures come from Powertools' processPartialResponse, as for the other queues: a record fails when a run
 * of one of its datasets could not be started now (it is delivered again); a record that is not an S3
 * notification is logged and dropped, and invalid uploaded options record a failed run and a metric instead.
 */
export async function handleObjectCreatedBatch(
  runtime: Pick<HandlerRuntime, 'ctx' | 'logger' | 'settings' | 'metrics'>,
  event: SQSEvent,
  context?: Context,
): Promise<SQSBatchResponse> {
  const runStarts = new Map<string, Promise<void>>();
  const startOnce = (dataset: string): Promise<void> => {
    let started = runStarts.get(dataset);
    if (!started) {
      started = startRun(runtime, dataset);
      runStarts.set(dataset, started);
    }
    return started;
  };
  const recordHandler = async (record: SQSRecord) => {
    let objects: ReturnType<typeof createdObjects>;
    try {
      objects = createdObjects(record.body);
    } catch (error) {
      runtime.logger.error('not an S3 notification; dropped', { messageId: record.messageId, error: String(error) });
      return;
    }
    const datasets = new Set<string>();
    for (const { bucket, key } of objects) {
      const dataset = datasetOfKey(key);
      if (bucket === runtime.settings.bucket && dataset !== undefined) datasets.add(dataset);
    }
    await Promise.all([...datasets].map(startOnce));
  };
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(event, recordHandler, processor, {
    ...(context ? { context } : {}),
    throwOnFullBatchFailure: false,
  });
}

/** Starts the dataset's run; invalid options are recorded (a failed run, a metric), anything else is thrown. */
async function startRun(runtime: Pick<HandlerRuntime, 'ctx' | 'logger' | 'settings' | 'metrics'>, dataset: string) {
  try {
    const root = `s3://${runtime.settings.bucket}`;
    const run = await startDatasetRun(runtime.ctx, root, dataset, 'content', runtime.settings.host);
    runtime.logger.info(run ? 'run started' : 'no data file yet', { dataset, runId: run?.runId });
  } catch (error) {
    if (error instanceof OptionsError) {
      // startDatasetRun recorded a failed run (status shows it); the metric makes the alarm fire.
      runtime.logger.error('cannot start a run: invalid options; failed run recorded', {
        dataset,
        error: error.message,
      });
      if (runtime.metrics) emitEvent(runtime.metrics, 'InvalidOptions', { dataset, error: error.message });
      return;
    }
    runtime.logger.warn('cannot start a run now; will retry', { dataset, error: String(error) });
    throw error;
  }
}
