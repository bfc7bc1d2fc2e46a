import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobRows, csvText } from '../../pipeline/support/datasets.ts';
import { removeTempDirs, runPipeline, tempDir } from '../../pipeline/support/pipelineHarness.ts';
import { runOutput, uniqueDataset, uploadDataset, waitForRun, waitForRunOf } from './support/bucketRuns.ts';
import { type PrivateStack, provisionPrivateStack } from './support/privateStack.ts';
import { queueDepth, sendRaw } from './support/queues.ts';
import { sleep, stopAllWorkers, WorkerProcess } from './support/workerProcess.ts';

/** The worker's JSON log lines (Powertools), parsed. */
function logLines(log: string): Record<string, unknown>[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The dead letters the worker's dead-letter consumer dropped. */
function dropped(log: string): Record<string, unknown>[] {
  return logLines(log).filter((line) => String(line.message).endsWith('; dropped'));
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

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

  it('go to the tasks dead-letter queue at once, with a reason, are dropped there, and a run beside them completes', async () => {
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
    for (const body of poison) await sendRaw(stack.sqs, stack.resources.queueUrls.tasks, body);
    const record = await waitForRun(stack.s3, stack.bucket, runId);
    const output = await runOutput(stack.s3, stack.bucket, runId);
    await waitFor('the dead-letter consumer to drop the three', () => dropped(worker.log).length === poison.length);

    // Assess: the handler moved each at once, with its reason (SQS's own redrive adds none); the worker's
    // dead-letter consumer then logged and dropped them (they name no run it could mark failed).
    const moved = logLines(worker.log).filter(
      (line) => line.message === 'message can never succeed; moved to the dead-letter queue',
    );
    const reasons = moved.map((line) => String(line.reason)).sort();
    expect(reasons).toHaveLength(3);
    expect(reasons[0]).toMatch(/invalid task message: body is not JSON/);
    expect(reasons[1]).toMatch(/invalid task message: stage:/);
    expect(reasons[2]).toMatch(/unknown run no-such-run/);
    expect(
      dropped(worker.log)
        .map((line) => line.reason ?? line.body)
        .sort(),
    ).toEqual([
      'invalid task message: body is not JSON: this is not JSON',
      expect.stringMatching(/^invalid task message: stage:/),
      'unknown run no-such-run: runs/no-such-run/run.json does not exist',
    ]);
    expect(await queueDepth(stack.sqs, stack.resources.deadLetterQueueUrls.tasks)).toBe(0);
    expect(record.status, record.error).toBe('succeeded');
    expect(output.labels).toBe(embedded.labels);
  });
});
