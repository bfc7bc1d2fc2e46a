import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { S3ObjectStore } from '../../lib/adapters/s3ObjectStore.ts';
import { removeTempDirs, repoPath, tempDir } from '../cli/cliHarness.ts';
import { killLiveClis, LiveCli } from '../cli/statusProcess.ts';
import { RunDriver } from '../cli/statusRunDriver.ts';
import { defaultConfig, localstackClients } from './localstackResources.ts';
import { listKeys, uniqueDataset, uploadDataset, waitForRunOf } from './serverless/support/bucketRuns.ts';
import { type PrivateStack, provisionPrivateStack } from './serverless/support/privateStack.ts';
import { stopAllWorkers, WorkerProcess } from './serverless/support/workerProcess.ts';

/**
 * `pseudolabel status` on runs in S3 (LocalStack), as a user runs it: the endpoint comes from AWS_ENDPOINT_URL,
 * the run from `<runId> --store s3://bucket` or `s3://bucket/runs/<runId>/`.
 */

/** The environment a user sets to reach LocalStack (credentials: any; the CLI supplies dummy ones). */
function awsEnv(): NodeJS.ProcessEnv {
  return { AWS_ENDPOINT_URL: inject('localstackEndpoint'), AWS_REGION: inject('localstackRegion') };
}

/** Runs `pseudolabel <args>` against LocalStack to its end. */
async function cli(args: readonly string[], cwd: string): Promise<LiveCli> {
  const child = new LiveCli(args, cwd, awsEnv());
  await child.exited;
  return child;
}

afterEach(killLiveClis);
afterAll(removeTempDirs);

describe('pseudolabel status on a run the test moves forward in s3://pseudolabel-data', () => {
  const { s3 } = localstackClients();
  const bucket = defaultConfig().bucket;
  const runId = `status-test-${randomUUID().slice(0, 8)}`;

  afterAll(async () => {
    const objects = (await listKeys(s3, bucket, `runs/${runId}/`)).map((Key) => ({ Key }));
    if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
  });

  it('shows where the run stands, then --watch follows it to success and exits 0', async () => {
    // Prepare
    const run = new RunDriver(new S3ObjectStore({ bucket, client: s3 }), runId, 2);
    const dir = await tempDir();
    await run.stage('ingest');
    await run.markers('ingest', 0, 0, 1);

    // Act
    const once = await cli(['status', runId, '--store', `s3://${bucket}`], dir);
    const watch = new LiveCli(
      ['status', `s3://${bucket}/runs/${runId}/`, '--watch', '--interval', '100'],
      dir,
      awsEnv(),
    );
    await watch.waitForLine('running: ingest 1/2 shards');
    await run.markers('ingest', 0, 1, 2);
    await run.stage('neighbors');
    await watch.waitForLine('running: neighbors 0/2 shards');
    await run.markers('neighbors', 0, 0, 2);
    await run.stage('propagate');
    await watch.waitForLine('running: propagate');
    await run.succeed(10, 1);
    const code = await watch.exited;

    // Assess
    expect(await once.exited, once.stderr).toBe(0);
    expect(once.stdout).toContain('status   running\nstage    ingest\nshards   1/2\n');
    expect(code).toBe(0);
    expect(watch.stderrLines).toContain('pseudolabel: ingest 2/2 done');
    expect(watch.stderrLines.at(-1)).toMatch(/^pseudolabel: succeeded: finalize 2\/2 shards, [\d.]+ s$/);
    expect(watch.stdout).toContain('result   label-spreading labelled 9 of 10 rows (2 given, 0 rejected)\n');
    expect(watch.stdout).toContain(`output   s3://${bucket}/runs/${runId}/output/\n`);
  });
});

describe('pseudolabel status on runs started by S3 uploads and run by pseudolabel worker', () => {
  let stack: PrivateStack;

  beforeAll(async () => {
    stack = await provisionPrivateStack();
    await WorkerProcess.start(stack.endpoint, stack.workerEnv());
  });
  afterAll(async () => {
    await stopAllWorkers();
    await stack?.destroy();
  });

  it('--watch on s3://bucket/runs/<runId>/ ends with the result; <runId> --store s3://bucket and --store alone (latest) show the same', async () => {
    // Prepare
    const digits = await readFile(repoPath('examples/digits.csv'), 'utf8');
    const csv = `${digits.split('\n').slice(0, 401).join('\n')}\n`;
    const dataset = uniqueDataset('digits');
    const dir = await tempDir();
    await uploadDataset(stack.s3, stack.bucket, dataset, { 'digits-400.csv': csv }, { shards: 3 });
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);

    // Act
    const location = `s3://${stack.bucket}/runs/${runId}/`;
    const watch = await cli(['status', location, '--watch', '--interval', '200'], dir);
    const byId = await cli(['status', runId, '--store', `s3://${stack.bucket}`, '--json'], dir);
    const latest = await cli(['status', '--store', `s3://${stack.bucket}`], dir);

    // Assess
    expect(await watch.exited, watch.stderr).toBe(0);
    expect(watch.stderrLines.at(-1)).toMatch(/^pseudolabel: succeeded: finalize 3\/3 shards, [\d.]+ s$/);
    expect(watch.stdout).toMatch(/\nresult {3}label-spreading labelled \d+ of 400 rows \(\d+ given, 0 rejected\)\n/);
    expect(watch.stdout).toContain(`output   ${location}output/\n`);
    expect(await byId.exited, byId.stderr).toBe(0);
    expect(JSON.parse(byId.stdout)).toMatchObject({
      runId,
      dataset,
      status: 'succeeded',
      shardsDone: 3,
      shardsTotal: 3,
      output: `${location}output/`,
      result: { rows: 400, rejected: 0 },
    });
    expect(await latest.exited, latest.stderr).toBe(0);
    expect(latest.stdout).toBe(watch.stdout);
  });

  it('--watch exits 2 with the error line when the run fails (a dataset without labels)', async () => {
    // Prepare
    const dataset = uniqueDataset('unlabelled');
    const csv = `id,label,a,b\n${Array.from({ length: 20 }, (_, i) => `r${i},,${i},${i % 3}`).join('\n')}\n`;
    await uploadDataset(stack.s3, stack.bucket, dataset, { 'data.csv': csv }, {});
    const runId = await waitForRunOf(stack.s3, stack.bucket, dataset);

    // Act
    const watch = await cli(
      ['status', `s3://${stack.bucket}/runs/${runId}`, '--watch', '--interval', '200'],
      await tempDir(),
    );

    // Assess
    expect(await watch.exited, watch.stderr).toBe(2);
    expect(watch.stderrLines.at(-1)).toMatch(new RegExp(`^pseudolabel: run ${runId} failed: .*label`));
    expect(watch.stdout).toContain('status   failed\n');
  });
});
