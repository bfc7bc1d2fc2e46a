import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobRows, csvText } from '../../pipeline/support/datasets.ts';
import { removeTempDirs, runPipeline, tempDir } from '../../pipeline/support/pipelineHarness.ts';
import { runOutput, uniqueDataset, uploadDataset, waitForRun, waitForRunOf } from './support/bucketRuns.ts';
import { type PrivateStack, provisionPrivateStack } from './support/privateStack.ts';
import { receiveMessages, sendRaw } from './support/queues.ts';
import { stopAllWorkers, WorkerProcess } from './support/workerProcess.ts';

describe('poison messages on the tasks queue, with pseudolabel worker', () => {
  let stack: PrivateStack;
  let worker: WorkerProcess;

  beforeAll(async () => {
    stack = await provisionPrivateStack();
    worker = await WorkerProcess.start(stack.endpoint, stack.workerEnv());
  });
  afterAll(async () => {
    await stopAllWorkers();
    await stack?.destroy();
    await removeTempDirs();
  });

  it('go to the tasks dead-letter queue at once, with a reason, while a run beside them completes unaffected', async () => {
    // Prepare
    const csv = csvText(blobRows({ n: 300, d: 5, seed: 5 }));
    const options = { neighbors: 6, shards: 4 };
    const dir = await tempDir();
    await writeFile(join(dir, 'blobs.csv'), csv);
    const embedded = await runPipeline(join(dir, 'blobs.csv'), options);
    const dataset = uniqueDataset('beside-poison');
    const poison = [
      'this is not JSON',
      JSON.stringify({ v: 1, runId: 'some-run', stage: 'teleport', round: 0, shard: 0 }),
      JSON.stringify({ v: 1, runId: 'no-such-run', stage: 'ingest', round: 0, shard: 0 }),
    ];

    // Act: the poison goes in among the run's own tasks.
    await uploadDataset(stack.s3, stack.bucket, dataset, { 'blobs.csv': csv }, options);
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);
    const sentAt = Date.now();
    for (const body of poison) await sendRaw(stack.sqs, stack.resources.queueUrls.tasks, body);
    const dead = await receiveMessages(stack.sqs, stack.resources.deadLetterQueueUrls.tasks, poison.length);
    const deadAfterMs = Date.now() - sentAt;
    const record = await waitForRun(stack.s3, stack.bucket, runId);
    const output = await runOutput(stack.s3, stack.bucket, runId);

    // Assess
    const reasons = new Map(dead.map((m) => [m.Body, m.MessageAttributes?.reason?.StringValue]));
    expect([...reasons.keys()].sort()).toEqual([...poison].sort());
    expect(reasons.get(poison[0])).toMatch(/invalid task message: body is not JSON/);
    expect(reasons.get(poison[1])).toMatch(/invalid task message: stage:/);
    expect(reasons.get(poison[2])).toMatch(/unknown run no-such-run/);
    // SQS's own redrive needs 3 receives, 2 visibility timeouts apart, and adds no reason: this was the handler.
    expect(deadAfterMs).toBeLessThan(2 * stack.visibilityTimeout * 1000);
    expect(worker.log).toContain('message can never succeed');
    expect(record.status, record.error).toBe('succeeded');
    expect(output.labels).toBe(embedded.labels);
  });
});
