import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLoggingCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type CdkDeployResult, cdkPaths, destroyCdkStack } from '../../lib/localstack/cdkDeploy.ts';
import { ForeignResourcesError } from '../../lib/localstack/errors.ts';
import { type LocalstackUpResult, localstackUp } from '../../lib/localstack/index.ts';
import { type LocalstackConfig, localstackConfig } from '../../lib/localstack/localstackConfig.ts';
import { LOCALSTACK_STACK_TAG } from '../../lib/resourceNames.ts';
import { blobRows, csvText } from '../pipeline/support/datasets.ts';
import { localstackClients, provisionIsolated, receiveUntil } from './localstackResources.ts';
import { runOutput, uniqueDataset, uploadDataset, waitForRun, waitForRunOf } from './serverless/support/bucketRuns.ts';
import { stopAllWorkers, WorkerProcess } from './serverless/support/workerProcess.ts';

/**
 * `pseudolabel localstack up --provision cdk`: the CDK app's data plane (`-c localstack=true`) deployed with cdklocal
 * to the LocalStack the global setup provides. The stack gets its own name, bucket and queue prefix, so it neither
 * collides with the directly provisioned `pseudolabel-*` resources the other integration tests use nor sees their
 * messages; it is destroyed (and its retained buckets deleted) at the end.
 */
describe('CDK data plane deployed to LocalStack with cdklocal', () => {
  const id = randomUUID().slice(0, 8);
  const stackName = `PseudolabelCdkTest-${id}`;
  const { s3, sqs, endpoint } = localstackClients();
  let stateDir: string;
  let config: LocalstackConfig;
  let up: LocalstackUpResult;
  let deployed: CdkDeployResult;
  let firstDeployMs: number;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'pl-cdk-state-'));
    config = localstackConfig({
      endpoint,
      region: inject('localstackRegion'),
      bucket: `pl-cdk-${id}`,
      queuePrefix: `pl-cdk-${id}`,
      stateDir,
    });
    const begin = Date.now();
    up = await localstackUp({
      endpoint,
      region: config.region,
      bucket: config.bucket,
      queuePrefix: config.queuePrefix,
      stateDir,
      provision: 'cdk',
      stackName,
    });
    firstDeployMs = Date.now() - begin;
    deployed = up.resources as CdkDeployResult;
  }, 300_000);

  afterAll(async () => {
    await stopAllWorkers();
    if (up !== undefined) {
      await destroyCdkStack(config, { stackName });
      for (const bucket of [deployed.bucket, deployed.outputs.AccessLogsBucketName]) await deleteBucket(s3, bucket);
      // The queues went with the stack (the buckets are retained by default, hence deleted above).
      const tasksQueue = sqs.send(new GetQueueUrlCommand({ QueueName: `${config.queuePrefix}-tasks` }));
      await expect(tasksQueue).rejects.toThrow();
    }
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
  }, 300_000);

  it('uses the running LocalStack and deploys the stack under the configured names', () => {
    expect(up.started).toBe(false);
    expect(up.provision).toBe('cdk');
    expect(deployed.bucket).toBe(`pl-cdk-${id}`);
    expect(Object.values(deployed.queueUrls).map((url) => url.split('/').at(-1))).toEqual(
      ['events', 'tasks', 'reduce'].map((q) => `pl-cdk-${id}-${q}`),
    );
    expect(Object.values(deployed.deadLetterQueueUrls).map((url) => url.split('/').at(-1))).toEqual(
      ['events', 'tasks', 'reduce'].map((q) => `pl-cdk-${id}-${q}-dlq`),
    );
    console.log(`[cdk] first deploy ${(firstDeployMs / 1000).toFixed(1)} s`);
  });

  it('creates the bucket with the incoming/ notification to the events queue', async () => {
    // Act
    await s3.send(new HeadBucketCommand({ Bucket: deployed.bucket }));
    const notification = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: deployed.bucket }));
    const eventsArn = await queueAttribute(deployed.queueUrls.events, 'QueueArn');

    // Assess
    expect(notification.QueueConfigurations).toEqual([
      {
        Id: expect.any(String),
        QueueArn: eventsArn,
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: expect.stringMatching(/^prefix$/i), Value: 'incoming/' }] } },
      },
    ]);
    expect(notification.LambdaFunctionConfigurations ?? []).toEqual([]);
  });

  it('creates each queue with a redrive policy to its DLQ after 3 receives and the Lambda-derived visibility timeout', async () => {
    // Prepare: 6x the consumer's timeout plus its batching window (cdk.json: 300 s + 5 s for events, 900 s otherwise).
    const expectedVisibility = { events: '1805', tasks: '5400', reduce: '5400' };

    for (const queue of ['events', 'tasks', 'reduce'] as const) {
      // Act
      const attributes = await queueAttributes(deployed.queueUrls[queue]);
      const dlqArn = await queueAttribute(deployed.deadLetterQueueUrls[queue], 'QueueArn');
      const dlqRetention = await queueAttribute(deployed.deadLetterQueueUrls[queue], 'MessageRetentionPeriod');

      // Assess
      expect(JSON.parse(attributes.RedrivePolicy!)).toEqual({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 });
      expect(attributes.VisibilityTimeout).toBe(expectedVisibility[queue]);
      expect(attributes.SqsManagedSseEnabled).toBe('true');
      expect(dlqRetention).toBe(String(14 * 24 * 3600));
    }
    const eventsPolicy = JSON.parse((await queueAttributes(deployed.queueUrls.events)).Policy!);
    expect(eventsPolicy.Statement).toContainEqual(
      expect.objectContaining({ Sid: 'AllowS3IncomingNotifications', Action: 'sqs:SendMessage' }),
    );
  });

  it('gives the bucket its TLS-only policy, its tag, and the lifecycle and logging LocalStack’s CloudFormation drops', async () => {
    // Act
    const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: deployed.bucket }))).Policy!);
    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: deployed.bucket }));
    const lifecycle = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: deployed.bucket }));
    const logging = await s3.send(new GetBucketLoggingCommand({ Bucket: deployed.bucket }));

    // Assess
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(tags.TagSet).toContainEqual({ Key: LOCALSTACK_STACK_TAG, Value: stackName });
    expect(lifecycle.Rules?.map((r) => [r.ID, r.Filter, r.Expiration?.Days])).toEqual([
      [
        'ExpireIntermediateRunObjects',
        { And: { Prefix: 'runs/', Tags: [{ Key: 'pseudolabel:intermediate', Value: 'true' }] } },
        7,
      ],
      ['AbortIncompleteMultipartUploads', { Prefix: '' }, undefined],
    ]);
    expect(logging.LoggingEnabled).toEqual({
      TargetBucket: deployed.outputs.AccessLogsBucketName,
      TargetPrefix: 'data-bucket/',
    });
  });

  it('creates the three dead-letter alarms (LocalStack’s CloudFormation takes them)', () => {
    // Prepare
    const log = readFileSync(cdkPaths(config, stackName).log, 'utf8');

    // Assess
    const created = log.split('\n').filter((line) => /CREATE_COMPLETE\s+\|\s+AWS::CloudWatch::Alarm/.test(line));
    expect(created.map((line) => line.match(/Alarms\/(\w+)/)?.[1]).sort()).toEqual([
      'EventsDeadLetters',
      'ReduceDeadLetters',
      'TasksDeadLetters',
    ]);
  });

  it('sends a file put into incoming/ to the events queue, and nothing for other keys', async () => {
    // Act
    await s3.send(new PutObjectCommand({ Bucket: deployed.bucket, Key: 'runs/x/run.json', Body: '{}' }));
    await s3.send(new PutObjectCommand({ Bucket: deployed.bucket, Key: 'incoming/alpha/data.csv', Body: 'id\n1\n' }));
    const messages = await receiveUntil(sqs, deployed.queueUrls.events, (m) =>
      createdKeys(m).includes('incoming/alpha/data.csv'),
    );
    const later = await receiveUntil(sqs, deployed.queueUrls.events, () => false, 2_000);

    // Assess
    expect(createdKeys(messages)).toEqual(['incoming/alpha/data.csv']);
    expect(createdKeys(later)).toEqual([]);
  });

  it('is idempotent: a second up finds no changes and returns the same resources', async () => {
    // Act
    const again = await localstackUp({
      endpoint,
      region: config.region,
      bucket: config.bucket,
      queuePrefix: config.queuePrefix,
      stateDir,
      provision: 'cdk',
      stackName,
    });

    // Assess
    expect(again.resources).toEqual(deployed);
    expect(readFileSync(cdkPaths(config, stackName).log, 'utf8')).toMatch(/no changes/i);
  }, 120_000);

  it('is served unchanged by pseudolabel worker: an upload runs to the end', async () => {
    // Prepare
    const rows = blobRows({ n: 120, d: 4, seed: 5 });
    const dataset = uniqueDataset('cdk');
    await WorkerProcess.start(endpoint, {
      PSEUDOLABEL_BUCKET: deployed.bucket,
      PSEUDOLABEL_QUEUE_PREFIX: config.queuePrefix,
      AWS_REGION: config.region,
    });

    // Act
    await uploadDataset(s3, deployed.bucket, dataset, { 'blobs.csv': csvText(rows) }, { neighbors: 5, shards: 2 });
    const runId = await waitForRunOf(s3, deployed.bucket, dataset);
    const record = await waitForRun(s3, deployed.bucket, runId);
    const output = await runOutput(s3, deployed.bucket, runId);

    // Assess
    expect(record.status, record.error).toBe('succeeded');
    expect(output.labels?.trimEnd().split('\n')).toHaveLength(121);
  }, 120_000);

  it('refuses to deploy over same-named resources it did not create, before running cdklocal', async () => {
    // Prepare
    const direct = await provisionIsolated();

    try {
      // Act
      const attempt = localstackUp({
        endpoint,
        region: config.region,
        bucket: direct.config.bucket,
        queuePrefix: direct.config.queuePrefix,
        stateDir,
        provision: 'cdk',
        stackName: `${stackName}-direct`,
      });

      // Assess
      await expect(attempt).rejects.toThrow(ForeignResourcesError);
      await expect(attempt).rejects.toThrow(
        `bucket ${direct.config.bucket}, queue ${direct.config.queuePrefix}-events`,
      );
    } finally {
      await direct.cleanup();
    }
  });

  async function queueAttributes(url: string): Promise<Record<string, string>> {
    const response = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    return response.Attributes ?? {};
  }

  async function queueAttribute(url: string, name: string): Promise<string | undefined> {
    return (await queueAttributes(url))[name];
  }
});

/** Object keys of the S3 ObjectCreated records in messages (s3:TestEvent messages have none). */
function createdKeys(messages: readonly Message[]): string[] {
  return messages.flatMap((m) => {
    const body = JSON.parse(m.Body!) as { Records?: { eventName: string; s3: { object: { key: string } } }[] };
    return (body.Records ?? []).filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => r.s3.object.key);
  });
}

async function deleteBucket(s3: S3Client, bucket: string | undefined): Promise<void> {
  if (bucket === undefined) return;
  for (;;) {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => undefined);
    if (listed === undefined) return; // already gone
    const objects = (listed.Contents ?? []).map(({ Key }) => ({ Key }));
    if (objects.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}
