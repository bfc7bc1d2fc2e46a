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
 * out (the tests' environment variable) runs the edges, route, degrees, iterate and result tasks from the tasks
 * queue and the graph, routed and converge steps from the reduce queue, over S3 (result tasks read their blocks
 * of the partitions' F with ranged GETs); labels.csv is the single-process embedded run's, byte for byte, with
 * partitions of shards (exact neighbours) and of cell ranges (approximate).
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

  it.each([
    { neighborsMode: 'exact', rows: 600, partitionsBy: 'shards' },
    { neighborsMode: 'approx', rows: 1797, partitionsBy: 'cell ranges' },
  ] as const)(
    'label spreading over knn-rbf, 3 shards, $neighborsMode neighbours: the embedded single-process labels, byte for byte',
    async ({ neighborsMode, rows, partitionsBy }) => {
      // Prepare
      const options: RunOptionsInput = {
        kernel: 'knn-rbf',
        gamma: 0.002,
        neighbors: 7,
        shards: 3,
        maxIter: 8,
        neighborsMode,
      };
      const digits = await readFile(join(ROOT, 'examples/digits.csv'), 'utf8');
      const csv = `${digits
        .trimEnd()
        .split('\n')
        .slice(0, rows + 1)
        .join('\n')}\n`;
      const dir = await tempDir();
      await writeFile(join(dir, 'digits.csv'), csv);
      const embedded = await runPipeline(join(dir, 'digits.csv'), options);
      const dataset = uniqueDataset('fanout');

      // Act
      await uploadDataset(stack.s3, stack.bucket, dataset, { 'digits.csv': csv }, options);
      const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);
      const record = await waitForRun(stack.s3, stack.bucket, runId, 300_000);
      const output = await runOutput(stack.s3, stack.bucket, runId);

      // Assess
      expect(record.status, record.error).toBe('succeeded');
      expect(embedded.record.timings).not.toHaveProperty('converge');
      expect(record.timings).toHaveProperty('converge');
      expect(record.partitions?.by).toBe(partitionsBy);
      const partitions = record.partitions?.count ?? 0;
      expect(await markersOf(stack.s3, stack.bucket, runId, 'iterate', 1)).toHaveLength(partitions);
      expect(await markersOf(stack.s3, stack.bucket, runId, 'route')).toHaveLength(3);
      expect(await markersOf(stack.s3, stack.bucket, runId, 'result')).toHaveLength(3);
      expect(output.labels === embedded.labels, 'labels.csv differs byte for byte').toBe(true);
    },
  );
});
