import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCALSTACK_STACK_TAG } from '../../infra/config.ts';
import { flatten, logicalIdOf, resources, synthStack } from './helpers.ts';

let template: Template;

beforeAll(() => {
  // destroyOnRemoval would add the autoDeleteObjects custom resource on AWS; LocalStack mode must not.
  template = synthStack({ localstack: 'true', destroyOnRemoval: 'true', datasets: 'alpha' }).template;
});

describe('LocalStack mode (-c localstack=true)', () => {
  it('deploys only the data plane: buckets, bucket policies, queues, queue policies and dead-letter alarms', () => {
    // Prepare
    const types = new Set(Object.values(resources(template)).map((r) => r.Type));

    // Assess
    expect([...types].sort()).toEqual([
      'AWS::CloudWatch::Alarm',
      'AWS::S3::Bucket',
      'AWS::S3::BucketPolicy',
      'AWS::SQS::Queue',
      'AWS::SQS::QueuePolicy',
    ]);
  });

  it('contains nothing backed by Lambda, CDK’s hidden custom resources included, and no schedule', () => {
    const types = Object.values(resources(template)).map((r) => r.Type);
    expect(types.filter((t) => t.startsWith('AWS::Lambda::') || t.startsWith('Custom::'))).toEqual([]);
    expect(types.filter((t) => t === 'AWS::Events::Rule')).toEqual([]);
  });

  it('keeps the dead-letter alarms (CloudWatch needs no Lambda) and drops the function error alarms', () => {
    // Prepare
    const alarms = Object.values(resources(template))
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .map((r) => r.Properties as { MetricName: string; Namespace: string; Dimensions: { Value: unknown }[] });

    // Assess
    expect(alarms.map((a) => [a.Namespace, a.MetricName])).toEqual([
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible'],
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible'],
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible'],
    ]);
    expect(alarms.map((a) => flatten(a.Dimensions[0].Value)).sort()).toEqual(
      ['Events', 'Reduce', 'Tasks'].map(
        (q) => `<${logicalIdOf(template, 'AWS::SQS::Queue', `Queues${q}DeadLetterQueue`)}.QueueName>`,
      ),
    );
  });

  it('tags every taggable resource with the stack name, so `localstack up --provision cdk` can tell them apart', () => {
    // Prepare
    const taggable = Object.values(resources(template)).filter((r) =>
      ['AWS::S3::Bucket', 'AWS::SQS::Queue', 'AWS::CloudWatch::Alarm'].includes(r.Type),
    );

    // Assess
    expect(taggable).toHaveLength(2 + 6 + 3);
    for (const r of taggable) {
      expect(r.Properties?.Tags).toContainEqual({ Key: LOCALSTACK_STACK_TAG, Value: 'Pseudolabel' });
    }
  });

  it('outputs both bucket names, which `--provision cdk` needs to set what LocalStack drops', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.BucketName.Value).toEqual({ Ref: logicalIdOf(template, 'AWS::S3::Bucket', 'DataBucket') });
    expect(outputs.AccessLogsBucketName.Value).toEqual({
      Ref: logicalIdOf(template, 'AWS::S3::Bucket', 'DataAccessLogs'),
    });
  });

  it('uses the resource names the local worker expects', () => {
    // Prepare
    const queueNames = Object.values(resources(template))
      .filter((r) => r.Type === 'AWS::SQS::Queue')
      .map((r) => r.Properties?.QueueName);

    // Assess
    expect(queueNames.sort()).toEqual([
      'pseudolabel-events',
      'pseudolabel-events-dlq',
      'pseudolabel-reduce',
      'pseudolabel-reduce-dlq',
      'pseudolabel-tasks',
      'pseudolabel-tasks-dlq',
    ]);
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'pseudolabel-data' });
  });

  it('sets the incoming/ notification on the CfnBucket, after the queue policy that allows it', () => {
    // Prepare
    const all = resources(template);
    const bucket = logicalIdOf(template, 'AWS::S3::Bucket', 'DataBucket');
    const events = logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesEventsQueue');
    const policy = logicalIdOf(template, 'AWS::SQS::QueuePolicy', 'QueuesEventsQueuePolicy');

    // Assess
    expect(all[bucket].Properties?.NotificationConfiguration).toEqual({
      QueueConfigurations: [
        {
          Event: 's3:ObjectCreated:*',
          Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'incoming/' }] } },
          Queue: { 'Fn::GetAtt': [events, 'Arn'] },
        },
      ],
    });
    expect(all[bucket].DependsOn).toContain(policy);
    const statements = (all[policy].Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements).toContainEqual({
      Sid: 'AllowS3IncomingNotifications',
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': [events, 'Arn'] },
      Condition: {
        ArnLike: {
          'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::pseudolabel-data']] },
        },
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      },
    });
  });

  it('keeps the dead-letter queues, encryption and TLS-only policies of the AWS deployment', () => {
    const all = resources(template);
    const events = logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesEventsQueue');
    expect(all[events].Properties?.RedrivePolicy).toMatchObject({ maxReceiveCount: 3 });
    template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      { PolicyDocument: { Statement: [{ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] } },
      5,
    );
  });

  it('needs no bootstrap stack: no bootstrap version check and no assets', () => {
    const json = template.toJSON();
    expect(json.Parameters?.BootstrapVersion).toBeUndefined();
    expect(json.Rules?.CheckBootstrapVersion).toBeUndefined();
  });

  it('deletes the buckets with the stack when asked, without emptying them first', () => {
    const buckets = Object.values(resources(template) as Record<string, { Type: string; DeletionPolicy?: string }>)
      .filter((r) => r.Type === 'AWS::S3::Bucket')
      .map((r) => r.DeletionPolicy);
    expect(buckets).toEqual(['Delete', 'Delete']);
  });
});
