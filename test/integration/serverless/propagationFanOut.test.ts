import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAN_OUT_FROM_ROWS_ENV } from '../../../lib/pipeline/propagation/propagationFanOut.ts';
import type { RunOptionsInput } from '../../../lib/pipeline/runOptions.ts';
import { ROOT, removeTempDirs, runPipeline, tempDir } from '../../pipeline/support/pipelineHarness.ts';
import { markersOf, runOutput, uniqueDataset, uploadDataset, waitForRun, waitForRunOf } from './support/bucketRuns.ts';
import { type PrivateStack, provisionPrivateStack } from './support/privateStack.ts';
import { stopAllWorkers, WorkerProcess } from './support/workerProcess.ts';

/**
 * The fanned-out propagation on the serverless path: a `pseudolabel worker` whose propagate step is made to fan
 * out (the tests' environment variable) runs the edges, degrees, iterate and result tasks from the tasks queue
 * and the graph and converge steps from the reduce queue, over S3; labels.csv is the single-process embedded
 * run's, byte for byte.
 */
describe('fanned-out propagation run by pseudolabel worker', () => {
  let stack: PrivateStack;

  beforeAll(async () => {
    stack = await provisionPrivateStack();
    await WorkerProcess.start(stack.endpoint, { ...stack.workerEnv(), [FAN_OUT_FROM_ROWS_ENV]: '0' });
  });
  afterAll(async () => {
    await stopAllWorkers();
    await stack?.destroy();
    await removeTempDirs();
  });

  it('label spreading over knn-rbf, 3 shards: the embedded single-process labels, byte for byte', async () => {
    // Prepare
    const options: RunOptionsInput = { kernel: 'knn-rbf', gamma: 0.002, neighbors: 7, shards: 3, maxIter: 8 };
    const digits = await readFile(join(ROOT, 'examples/digits.csv'), 'utf8');
    const csv = `${digits.split('\n').slice(0, 601).join('\n')}\n`;
    const dir = await tempDir();
    await writeFile(join(dir, 'digits-600.csv'), csv);
    const embedded = await runPipeline(join(dir, 'digits-600.csv'), options);
    const dataset = uniqueDataset('fanout');

    // Act
    await uploadDataset(stack.s3, stack.bucket, dataset, { 'digits-600.csv': csv }, options);
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);
    const record = await waitForRun(stack.s3, stack.bucket, runId, 180_000);
    const output = await runOutput(stack.s3, stack.bucket, runId);

    // Assess
    expect(record.status, record.error).toBe('succeeded');
    expect(embedded.record.timings).not.toHaveProperty('converge');
    expect(record.timings).toHaveProperty('converge');
    expect(await markersOf(stack.s3, stack.bucket, runId, 'iterate', 1)).toHaveLength(3);
    expect(await markersOf(stack.s3, stack.bucket, runId, 'result')).toHaveLength(3);
    expect(output.labels === embedded.labels, 'labels.csv differs byte for byte').toBe(true);
  });
});
