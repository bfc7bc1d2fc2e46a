import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INTERMEDIATE_TAG } from '../../infra/constructs/dataBucket.ts';
import { ENV } from '../../infra/constructs/pipelineFunctions.ts';
import { DEAD_LETTERS_SERVICE } from '../../lib/hosts/serverless/deadLetterBatch.ts';
import { METRICS_NAMESPACE } from '../../lib/hosts/serverless/metrics.ts';
import {
  allowedActionsByResource,
  flatten,
  logicalIdOf,
  logicalIdsOf,
  resources,
  type Synthesized,
  synthStack,
} from './helpers.ts';

/** Context as `cdk deploy -c ...` would pass it (strings), different from every default so each is seen. */
const CONTEXT = {
  datasets: 'alpha,beta',
  schedule: 'cron(30 2 ? * MON *)',
  alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
  fanOut: '25',
  intermediateExpirationDays: '3',
  accessLogExpirationDays: '45',
  logRetentionDays: '14',
  workerMemoryMb: '4096',
  workerTimeoutSeconds: '600',
  reducerMemoryMb: '2048',
  reducerTimeoutSeconds: '720',
  eventsBatchSize: '5',
  eventsMaxBatchingWindowSeconds: '7',
  reduceMaxConcurrency: '4',
  maxShards: '250',
};

/** Further synths that check one setting skip bundling (the main synth bundles for real). */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

let synth: Synthesized;
let template: Template;
let ids: {
  bucket: string;
  logBucket: string;
  queue: Record<'events' | 'tasks' | 'reduce', string>;
  dlq: Record<'events' | 'tasks' | 'reduce', string>;
  fn: Record<'onObjectCreated' | 'scheduled' | 'worker' | 'reducer', string>;
};

beforeAll(() => {
  synth = synthStack(CONTEXT);
  template = synth.template;
  ids = {
    bucket: logicalIdOf(template, 'AWS::S3::Bucket', 'DataBucket'),
    logBucket: logicalIdOf(template, 'AWS::S3::Bucket', 'DataAccessLogs'),
    queue: {
      events: logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesEventsQueue'),
      tasks: logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesTasksQueue'),
      reduce: logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesReduceQueue'),
    },
    dlq: {
      events: logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesEventsDeadLetterQueue'),
      tasks: logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesTasksDeadLetterQueue'),
      reduce: logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesReduceDeadLetterQueue'),
    },
    fn: {
      onObjectCreated: logicalIdOf(template, 'AWS::Lambda::Function', 'FunctionsOnObjectCreated'),
      scheduled: logicalIdOf(template, 'AWS::Lambda::Function', 'FunctionsScheduled'),
      worker: logicalIdOf(template, 'AWS::Lambda::Function', 'FunctionsWorker'),
      reducer: logicalIdOf(template, 'AWS::Lambda::Function', 'FunctionsReducer'),
    },
  };
});

/** CloudFormation JSON is untyped; the tests index into it freely. */
// biome-ignore lint/suspicious/noExplicitAny: template JSON
type CfnJson = any;

const props = (logicalId: string): CfnJson => resources(template)[logicalId].Properties;

describe('data bucket', () => {
  it('blocks public access and encrypts with SSE-S3', () => {
    expect(props(ids.bucket)).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('denies every request without TLS in its bucket policy', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('expires only objects under runs/ tagged as intermediate, after the configured days', () => {
    // Assess
    const rules = props(ids.bucket).LifecycleConfiguration.Rules as CfnJson[];
    const expiring = rules.filter((r) => r.ExpirationInDays !== undefined || r.ExpirationDate !== undefined);
    expect(expiring).toEqual([
      {
        Id: 'ExpireIntermediateRunObjects',
        Status: 'Enabled',
        Prefix: 'runs/',
        TagFilters: [{ Key: INTERMEDIATE_TAG.key, Value: INTERMEDIATE_TAG.value }],
        ExpirationInDays: 3,
      },
    ]);
    expect(INTERMEDIATE_TAG).toEqual({ key: 'pseudolabel:intermediate', value: 'true' });
  });

  it('aborts incomplete multipart uploads', () => {
    expect(props(ids.bucket).LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }),
    );
  });

  it('writes server access logs to a private, TLS-only log bucket that expires them', () => {
    // Assess
    expect(props(ids.bucket).LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: ids.logBucket },
      LogFilePrefix: 'data-bucket/',
    });
    expect(props(ids.logBucket)).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 45, Status: 'Enabled' }] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.logBucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:PutObject',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [ids.bucket, 'Arn'] } } }),
          }),
        ]),
      },
    });
  });

  it('retains the buckets and log groups on stack deletion by default', () => {
    const all = resources(template) as Record<string, { DeletionPolicy?: string }>;
    for (const id of [ids.bucket, ids.logBucket, ...logicalIdsOf(template, 'AWS::Logs::LogGroup')]) {
      expect(all[id].DeletionPolicy, id).toBe('Retain');
    }
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('notifies the events queue of every object created under incoming/', () => {
    // Assess
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: ids.bucket },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'incoming/' }] } },
            QueueArn: { 'Fn::GetAtt': [ids.queue.events, 'Arn'] },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ids.queue.events }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [ids.bucket, 'Arn'] } } },
          }),
        ]),
      },
    });
  });
});

describe('queues', () => {
  const names = ['events', 'tasks', 'reduce'] as const;

  it('has three queues, each with its own dead-letter queue after 3 receives', () => {
    template.resourceCountIs('AWS::SQS::Queue', 6);
    for (const name of names) {
      expect(props(ids.queue[name]).RedrivePolicy, name).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq[name], 'Arn'] },
        maxReceiveCount: 3,
      });
      expect(props(ids.dlq[name]).RedrivePolicy, name).toBeUndefined();
      expect(props(ids.dlq[name]).MessageRetentionPeriod, name).toBe(14 * 24 * 3600);
    }
  });

  it('encrypts every queue with SQS-managed keys and denies requests without TLS', () => {
    for (const id of [...Object.values(ids.queue), ...Object.values(ids.dlq)]) {
      expect(props(id).SqsManagedSseEnabled, id).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('sets each visibility timeout to at least 6x its consumer timeout plus the batching window', () => {
    // Prepare
    const mappings = logicalIdsOf(template, 'AWS::Lambda::EventSourceMapping').map(props);

    // Assess
    expect(mappings).toHaveLength(5); // three queues, and the tasks and reduce DLQs (dead-letter consumer)
    for (const mapping of mappings) {
      const queue = props(mapping.EventSourceArn['Fn::GetAtt'][0]);
      const fn = props(mapping.FunctionName.Ref);
      const window = mapping.MaximumBatchingWindowInSeconds ?? 0;
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout + window);
    }
    expect(props(ids.queue.tasks).VisibilityTimeout).toBe(6 * 600);
    expect(props(ids.queue.reduce).VisibilityTimeout).toBe(6 * 720);
    expect(props(ids.queue.events).VisibilityTimeout).toBe(6 * 300 + 7);
  });
});

describe('functions', () => {
  const expected = {
    onObjectCreated: { memory: 1024, timeout: 300, loop: 'Terminate' },
    scheduled: { memory: 1024, timeout: 300, loop: 'Terminate' },
    worker: { memory: 4096, timeout: 600, loop: 'Allow' },
    reducer: { memory: 2048, timeout: 720, loop: 'Allow' },
  } as const;

  it('deploys exactly the four pipeline functions, the dead-letter consumer, the deadline watch and CDK’s notification handler', () => {
    const pipeline = Object.values(ids.fn);
    const others = logicalIdsOf(template, 'AWS::Lambda::Function').filter((id) => !pipeline.includes(id));
    expect(others.sort()).toEqual([
      expect.stringMatching(/^BucketNotificationsHandler/),
      expect.stringMatching(/^DeadLetterConsumerFunction/),
      expect.stringMatching(/^DeadlineWatchFunction/),
    ]);
  });

  it.each(Object.keys(expected) as (keyof typeof expected)[])(
    '%s: Node.js 22 on arm64 with its memory, timeout and the pipeline environment',
    (name) => {
      // Assess
      const fn = props(ids.fn[name]);
      expect(fn).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: expected[name].memory,
        Timeout: expected[name].timeout,
        RecursiveLoop: expected[name].loop,
      });
      const deadLetterUrl: Record<string, unknown> = {
        worker: { [ENV.tasksDlqUrl]: { Ref: ids.dlq.tasks } },
        reducer: { [ENV.reduceDlqUrl]: { Ref: ids.dlq.reduce } },
      };
      expect(fn.Environment.Variables).toEqual({
        [ENV.bucket]: { Ref: ids.bucket },
        [ENV.tasksQueueUrl]: { Ref: ids.queue.tasks },
        [ENV.reduceQueueUrl]: { Ref: ids.queue.reduce },
        [ENV.workerMemoryMb]: String(expected.worker.memory),
        [ENV.reducerMemoryMb]: String(expected.reducer.memory),
        ...(deadLetterUrl[name] ?? {}),
        PSEUDOLABEL_MAX_SHARDS: '250',
        PSEUDOLABEL_MAX_COLUMNS: '100000',
        MALLOC_MMAP_THRESHOLD_: '1048576',
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'pseudolabel',
      });
    },
  );

  it('logs every function to its own log group with the configured retention', () => {
    const logGroups = new Set<string>();
    for (const id of Object.values(ids.fn)) {
      const logGroup = props(id).LoggingConfig.LogGroup.Ref as string;
      expect(props(logGroup).RetentionInDays).toBe(14);
      logGroups.add(logGroup);
    }
    expect(logGroups.size).toBe(4);
  });

  it('bundles an ESM handler with a require banner and a source map', () => {
    // Prepare
    const outdir = synth.app.outdir;

    // Act
    const key = props(ids.fn.worker).Code.S3Key as string;
    const assetDir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
    const code = readFileSync(join(assetDir, 'index.mjs'), 'utf8');

    // Assess
    expect(code.startsWith("import { createRequire as pseudolabelCreateRequire } from 'node:module';")).toBe(true);
    expect(code).toContain('sourceMappingURL=index.mjs.map');
    expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
  });

  it('wires each queue to its consumer with batch failures reported, batch size, window and concurrency', () => {
    // Prepare
    const mappingOf = (fn: string) =>
      logicalIdsOf(template, 'AWS::Lambda::EventSourceMapping')
        .map(props)
        .filter((m) => m.FunctionName.Ref === fn);

    // Assess
    expect(mappingOf(ids.fn.onObjectCreated)).toEqual([
      {
        EventSourceArn: { 'Fn::GetAtt': [ids.queue.events, 'Arn'] },
        FunctionName: { Ref: ids.fn.onObjectCreated },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 5,
        MaximumBatchingWindowInSeconds: 7,
        ScalingConfig: { MaximumConcurrency: 2 },
      },
    ]);
    expect(mappingOf(ids.fn.worker)).toEqual([
      {
        EventSourceArn: { 'Fn::GetAtt': [ids.queue.tasks, 'Arn'] },
        FunctionName: { Ref: ids.fn.worker },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 1,
        ScalingConfig: { MaximumConcurrency: 25 },
      },
    ]);
    expect(mappingOf(ids.fn.reducer)).toEqual([
      {
        EventSourceArn: { 'Fn::GetAtt': [ids.queue.reduce, 'Arn'] },
        FunctionName: { Ref: ids.fn.reducer },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 1,
        ScalingConfig: { MaximumConcurrency: 4 },
      },
    ]);
    expect(mappingOf(ids.fn.scheduled)).toEqual([]);
  });
});

describe('least-privilege grants', () => {
  const roleOf = (fn: string) => props(fn).Role['Fn::GetAtt'][0] as string;
  const send = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
  const consume = [
    'sqs:ChangeMessageVisibility',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'sqs:GetQueueUrl',
    'sqs:ReceiveMessage',
  ];
  const objects = {
    bucket: ['s3:ListBucket'],
    incoming: ['s3:GetObject'],
    runs: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
  };

  const datasetObjects = {
    none: undefined,
    read: ['s3:GetObject'],
    write: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
  };

  function expectedGrants(
    fn: string,
    queues: Record<string, string[]>,
    datasets: keyof typeof datasetObjects = 'none',
  ) {
    const bucketArn = `<${ids.bucket}.Arn>`;
    return {
      [`<${props(fn).LoggingConfig.LogGroup.Ref}.Arn>`]: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      [bucketArn]: objects.bucket,
      [`${bucketArn}/incoming/*`]: objects.incoming,
      [`${bucketArn}/runs/*`]: objects.runs,
      ...(datasetObjects[datasets] ? { [`${bucketArn}/datasets/*`]: datasetObjects[datasets] } : {}),
      ...Object.fromEntries(Object.entries(queues).map(([q, actions]) => [`<${q}.Arn>`, actions])),
    };
  }

  it('onObjectCreated: reads incoming/, runs/ and datasets/, writes runs/, consumes events, sends the plan step', () => {
    expect(allowedActionsByResource(template, roleOf(ids.fn.onObjectCreated))).toEqual(
      expectedGrants(ids.fn.onObjectCreated, { [ids.queue.events]: consume, [ids.queue.reduce]: send }, 'read'),
    );
  });

  it('scheduled: reads incoming/, runs/ and datasets/, writes runs/, sends the plan step to reduce, consumes nothing', () => {
    expect(allowedActionsByResource(template, roleOf(ids.fn.scheduled))).toEqual(
      expectedGrants(ids.fn.scheduled, { [ids.queue.reduce]: send }, 'read'),
    );
  });

  it('worker: consumes tasks, sends reduce and poison messages to the tasks DLQ, reads datasets/', () => {
    expect(allowedActionsByResource(template, roleOf(ids.fn.worker))).toEqual(
      expectedGrants(
        ids.fn.worker,
        {
          [ids.queue.tasks]: consume,
          [ids.queue.reduce]: send,
          [ids.dlq.tasks]: send,
        },
        'read',
      ),
    );
  });

  it('reducer: consumes reduce, sends tasks and reduce, and poison messages to the reduce DLQ; publishes versions', () => {
    const reduceActions = [...new Set([...consume, ...send])].sort();
    expect(allowedActionsByResource(template, roleOf(ids.fn.reducer))).toEqual(
      expectedGrants(
        ids.fn.reducer,
        {
          [ids.queue.reduce]: reduceActions,
          [ids.queue.tasks]: send,
          [ids.dlq.reduce]: send,
        },
        'write',
      ),
    );
  });

  it('uses no wildcard action and no AWS managed policy on the pipeline roles', () => {
    for (const fn of Object.values(ids.fn)) {
      const role = roleOf(fn);
      expect(props(role).ManagedPolicyArns, role).toBeUndefined();
      const actions = Object.values(allowedActionsByResource(template, role)).flat();
      expect(
        actions.filter((a) => a.includes('*')),
        role,
      ).toEqual([]);
    }
  });
});

describe('dead-letter consumer', () => {
  const consumer = () => logicalIdOf(template, 'AWS::Lambda::Function', 'DeadLetterConsumerFunction');

  it('consumes the tasks and reduce dead-letter queues, reporting batch item failures', () => {
    // Prepare
    const mappings = logicalIdsOf(template, 'AWS::Lambda::EventSourceMapping')
      .map(props)
      .filter((m) => m.FunctionName.Ref === consumer());

    // Assess
    expect(mappings.map((m) => m.EventSourceArn['Fn::GetAtt'][0]).sort()).toEqual(
      [ids.dlq.tasks, ids.dlq.reduce].sort(),
    );
    for (const mapping of mappings) expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(props(consumer()).Runtime).toBe('nodejs22.x');
  });

  it('reads runs/, writes only run.json files, and consumes its two queues', () => {
    // Prepare
    const role = props(consumer()).Role['Fn::GetAtt'][0] as string;
    const bucketArn = `<${ids.bucket}.Arn>`;
    const consume = [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ];

    // Act
    const grants = allowedActionsByResource(template, role);

    // Assess
    expect(grants).toEqual({
      [`<${props(consumer()).LoggingConfig.LogGroup.Ref}.Arn>`]: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      [bucketArn]: ['s3:ListBucket'],
      [`${bucketArn}/runs/*`]: ['s3:GetObject'],
      [`${bucketArn}/runs/*/run.json`]: ['s3:PutObject'],
      [`<${ids.dlq.tasks}.Arn>`]: consume,
      [`<${ids.dlq.reduce}.Arn>`]: consume,
    });
  });
});

describe('retraining schedule', () => {
  const retrainRules = () =>
    logicalIdsOf(template, 'AWS::Events::Rule').filter((id) => id.startsWith('RetrainSchedule'));

  it('has one rule with the configured schedule, invoking the scheduled function with the listed datasets', () => {
    // Prepare
    const rules = retrainRules().map(props);

    // Assess
    expect(rules).toHaveLength(1);
    expect(JSON.parse(rules[0].Targets[0].Input)).toEqual({ datasets: ['alpha', 'beta'] });
    expect(rules[0].ScheduleExpression).toBe('cron(30 2 ? * MON *)');
    expect(rules[0].State).toBe('ENABLED');
    expect(rules[0].Targets).toHaveLength(1);
    expect(rules[0].Targets[0].Arn).toEqual({ 'Fn::GetAtt': [ids.fn.scheduled, 'Arn'] });
  });

  it('lets the rule invoke the scheduled function', () => {
    for (const rule of retrainRules()) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [ids.fn.scheduled, 'Arn'] },
        SourceArn: { 'Fn::GetAtt': [rule, 'Arn'] },
      });
    }
  });

  it('keeps the schedule, daily by default, when no dataset is listed: datasets ask in their pseudolabel.json', () => {
    // Act
    const { template: t } = synthStack({ ...NO_BUNDLING });

    // Assess
    const rules = logicalIdsOf(t, 'AWS::Events::Rule').filter((id) => id.startsWith('RetrainSchedule'));
    expect(rules).toHaveLength(1);
    const rule = resources(t)[rules[0]].Properties as CfnJson;
    expect(rule.ScheduleExpression).toBe('cron(0 3 * * ? *)');
    expect(JSON.parse(rule.Targets[0].Input)).toEqual({ datasets: [] });
    t.resourceCountIs('AWS::Events::Rule', 2); // and the deadline watch's schedule
    t.resourceCountIs('AWS::Lambda::Function', 7);
  });
});

describe('alarms', () => {
  const alarms = () => logicalIdsOf(template, 'AWS::CloudWatch::Alarm').map(props);

  it('alarms on any visible message in each dead-letter queue', () => {
    // Prepare
    const dlqAlarms = alarms().filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');

    // Assess
    expect(dlqAlarms.map((a) => flatten(a.Dimensions[0].Value)).sort()).toEqual(
      Object.values(ids.dlq)
        .map((id) => `<${id}.QueueName>`)
        .sort(),
    );
    for (const alarm of dlqAlarms) {
      expect(alarm).toMatchObject({
        Namespace: 'AWS/SQS',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [CONTEXT.alarmTopicArn],
      });
    }
  });

  it('alarms on worker and reducer errors', () => {
    // Prepare
    const errorAlarms = alarms().filter((a) => a.MetricName === 'Errors');

    // Assess
    const dimensioned = errorAlarms.map((a) => a.Dimensions[0].Value.Ref);
    expect(dimensioned).toEqual(expect.arrayContaining([ids.fn.worker, ids.fn.reducer]));
    for (const alarm of errorAlarms) {
      expect(alarm).toMatchObject({
        Namespace: 'AWS/Lambda',
        Statistic: 'Sum',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        AlarmActions: [CONTEXT.alarmTopicArn],
        OKActions: [CONTEXT.alarmTopicArn],
      });
    }
  });
});

describe('operations alarms', () => {
  const alarms = () => logicalIdsOf(template, 'AWS::CloudWatch::Alarm').map(props);

  it('alarms when a queue’s oldest message has waited over an hour, for each of the three queues', () => {
    // Prepare
    const ageAlarms = alarms().filter((a) => a.MetricName === 'ApproximateAgeOfOldestMessage');

    // Assess
    expect(ageAlarms.map((a) => flatten(a.Dimensions[0].Value)).sort()).toEqual(
      Object.values(ids.queue)
        .map((id) => `<${id}.QueueName>`)
        .sort(),
    );
    for (const alarm of ageAlarms) {
      expect(alarm).toMatchObject({ Threshold: 3600, Statistic: 'Maximum', AlarmActions: [CONTEXT.alarmTopicArn] });
    }
  });

  it('alarms on the handlers’ metrics: invalid options, dead-lettered tasks, runs past their deadline', () => {
    // Prepare: the namespace and services the handlers' Powertools Metrics write to (lib/hosts/serverless/metrics.ts)
    const metricAlarms = alarms().filter((a) => a.Namespace === METRICS_NAMESPACE);

    // Assess
    expect(METRICS_NAMESPACE).toBe('pseudolabel');
    expect(metricAlarms.map((a) => [a.MetricName, a.Dimensions])).toEqual([
      ['InvalidOptions', [{ Name: 'service', Value: 'pseudolabel-on-object-created' }]],
      ['DeadLetteredTasks', [{ Name: 'service', Value: DEAD_LETTERS_SERVICE }]],
      ['RunsPastDeadline', [{ Name: 'service', Value: 'pseudolabel-deadline-watch' }]],
    ]);
    for (const alarm of metricAlarms) {
      expect(alarm).toMatchObject({ Statistic: 'Sum', Threshold: 0, AlarmActions: [CONTEXT.alarmTopicArn] });
    }
  });

  it('runs the deadline watch every 15 minutes; it lists the bucket and reads runs/, nothing more', () => {
    // Prepare
    const watch = logicalIdOf(template, 'AWS::Lambda::Function', 'DeadlineWatchFunction');
    const rule = logicalIdOf(template, 'AWS::Events::Rule', 'DeadlineWatchSchedule');
    const role = props(watch).Role['Fn::GetAtt'][0] as string;
    const bucketArn = `<${ids.bucket}.Arn>`;

    // Assess
    expect(props(rule).ScheduleExpression).toBe('rate(15 minutes)');
    expect(props(rule).Targets[0].Arn).toEqual({ 'Fn::GetAtt': [watch, 'Arn'] });
    expect(allowedActionsByResource(template, role)).toEqual({
      [`<${props(watch).LoggingConfig.LogGroup.Ref}.Arn>`]: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      [bucketArn]: ['s3:ListBucket'],
      [`${bucketArn}/runs/*`]: ['s3:GetObject'],
    });
  });

  it('without alarmTopicArn, creates an encrypted, TLS-only topic that every alarm notifies, and outputs it', () => {
    // Act
    const { template: t } = synthStack({ ...NO_BUNDLING });

    // Assess
    const topic = logicalIdOf(t, 'AWS::SNS::Topic', 'AlarmsAlarmTopic');
    expect(flatten(resources(t)[topic].Properties?.KmsMasterKeyId)).toMatch(/:alias\/aws\/sns$/);
    const all = Object.values(resources(t)).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(all.length).toBeGreaterThan(0);
    for (const alarm of all) expect(alarm.Properties?.AlarmActions).toEqual([{ Ref: topic }]);
    expect((t.toJSON().Outputs as Record<string, { Value: unknown }>).AlarmTopicArn.Value).toEqual({ Ref: topic });
  });
});

describe('outputs and removal', () => {
  it('outputs the bucket names and every queue URL', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.BucketName.Value).toEqual({ Ref: ids.bucket });
    expect(outputs.AccessLogsBucketName.Value).toEqual({
      Ref: ids.logBucket,
    });
    expect(outputs.TasksQueueUrl.Value).toEqual({ Ref: ids.queue.tasks });
    expect(outputs.ReduceDeadLetterQueueUrl.Value).toEqual({ Ref: ids.dlq.reduce });
    expect(Object.keys(outputs).sort()).toHaveLength(8);
  });

  it('deletes buckets (emptied by CDK) and log groups with the stack when destroyOnRemoval is set', () => {
    // Act
    const { template: t } = synthStack({ ...NO_BUNDLING, destroyOnRemoval: 'true' });

    // Assess
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    const all = resources(t) as Record<string, { Type: string; DeletionPolicy?: string }>;
    const deletable = Object.values(all).filter((r) => ['AWS::S3::Bucket', 'AWS::Logs::LogGroup'].includes(r.Type));
    expect(deletable).toHaveLength(8); // two buckets, six function log groups
    for (const r of deletable) expect(r.DeletionPolicy).toBe('Delete');
  });
});
