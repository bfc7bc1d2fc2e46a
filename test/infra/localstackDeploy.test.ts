import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bucketSettingsFromTemplate,
  type CfnTemplate,
  physicalBucketNames,
} from '../../lib/localstack/bucketSettings.ts';
import {
  cdkDeployArguments,
  cdklocalEnvironment,
  failureSummary,
  resolveCdklocal,
} from '../../lib/localstack/cdkDeploy.ts';
import { UnsupportedTemplateValueError } from '../../lib/localstack/errors.ts';
import { localstackConfig } from '../../lib/localstack/localstackConfig.ts';
import { logicalIdOf, synthStack } from './helpers.ts';

let template: CfnTemplate;
let bucketId: string;
let logsId: string;

beforeAll(() => {
  const synthesized = synthStack({ localstack: 'true' }).template;
  template = synthesized.toJSON() as CfnTemplate;
  bucketId = logicalIdOf(synthesized, 'AWS::S3::Bucket', 'DataBucket');
  logsId = logicalIdOf(synthesized, 'AWS::S3::Bucket', 'DataAccessLogs');
});

describe('bucket settings LocalStack’s CloudFormation drops, from the LocalStack-mode template', () => {
  it('names the buckets from the literal BucketName and the AccessLogsBucketName output', () => {
    // Act
    const names = physicalBucketNames(template, { BucketName: 'pseudolabel-data', AccessLogsBucketName: 'logs-1' });

    // Assess
    expect(names).toEqual({ [bucketId]: 'pseudolabel-data', [logsId]: 'logs-1' });
  });

  it('turns the flat CloudFormation lifecycle rules into API rules with filters', () => {
    // Act
    const settings = bucketSettingsFromTemplate(template, { [bucketId]: 'pseudolabel-data', [logsId]: 'logs-1' });

    // Assess
    const data = settings.find((s) => s.bucket === 'pseudolabel-data');
    const logs = settings.find((s) => s.bucket === 'logs-1');
    expect(data?.lifecycleRules).toEqual([
      {
        ID: 'ExpireIntermediateRunObjects',
        Status: 'Enabled',
        Filter: { And: { Prefix: 'runs/', Tags: [{ Key: 'pseudolabel:intermediate', Value: 'true' }] } },
        Expiration: { Days: 7 },
      },
      {
        ID: 'AbortIncompleteMultipartUploads',
        Status: 'Enabled',
        Filter: { Prefix: '' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
      },
    ]);
    expect(logs?.lifecycleRules).toEqual([
      { ID: 'ExpireAccessLogs', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 90 } },
    ]);
  });

  it('resolves the logging target bucket and keeps encryption, public access block and ownership', () => {
    // Act
    const [data] = bucketSettingsFromTemplate(template, { [bucketId]: 'pseudolabel-data', [logsId]: 'logs-1' }).filter(
      (s) => s.bucket === 'pseudolabel-data',
    );

    // Assess
    expect(data.logging).toEqual({ targetBucket: 'logs-1', targetPrefix: 'data-bucket/' });
    expect(data.encryptionRules).toEqual([{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }]);
    expect(data.publicAccessBlock).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    expect(data.ownershipRules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
  });

  it('refuses what it cannot apply: an unknown bucket, other intrinsics, unsupported lifecycle keys', () => {
    // Prepare
    const withRule = (rule: Record<string, unknown>): CfnTemplate => ({
      Resources: {
        B: { Type: 'AWS::S3::Bucket', Properties: { LifecycleConfiguration: { Rules: [rule] } } },
      },
    });

    // Act / Assess
    expect(() => bucketSettingsFromTemplate(template, { [bucketId]: 'pseudolabel-data' })).toThrow(
      UnsupportedTemplateValueError,
    );
    expect(() =>
      bucketSettingsFromTemplate(withRule({ Status: 'Enabled', ExpirationInDays: { Ref: 'Days' } }), { B: 'b' }),
    ).toThrow(/B\.LifecycleConfiguration\.Rules\[0\]\.ExpirationInDays: expected a number/);
    expect(() => bucketSettingsFromTemplate(withRule({ Status: 'Enabled', Transitions: [] }), { B: 'b' })).toThrow(
      /Rules\[0\]\.Transitions/,
    );
  });
});

describe('cdklocal invocation', () => {
  const config = localstackConfig(
    { endpoint: 'http://127.0.0.1:4599', bucket: 'b-data', queuePrefix: 'b', region: 'eu-west-1', stateDir: '/s' },
    {},
  );

  it('deploys the LocalStack-mode app under the configured names, into the state dir', () => {
    expect(cdkDeployArguments(config, 'Stack1')).toEqual([
      'deploy',
      'Stack1',
      '--require-approval',
      'never',
      '--no-notices',
      '--progress',
      'events',
      '--output',
      '/s/cdk/Stack1/cdk.out',
      '--outputs-file',
      '/s/cdk/Stack1/outputs.json',
      '-c',
      'localstack=true',
      '-c',
      'stackName=Stack1',
      '-c',
      'bucketName=b-data',
      '-c',
      'resourcePrefix=b',
    ]);
  });

  it('sends every AWS call to the endpoint with dummy credentials, offline, whatever the caller’s AWS settings', () => {
    // Act
    const env = cdklocalEnvironment(config, {
      PATH: '/bin',
      AWS_PROFILE: 'prod',
      AWS_SESSION_TOKEN: 'secret',
      AWS_ACCESS_KEY_ID: 'AKIA',
    });

    // Assess
    expect(env).toEqual({
      PATH: '/bin',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4599',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4599',
      AWS_S3_FORCE_PATH_STYLE: '1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_ENVAR_ALLOWLIST: 'AWS_REGION,AWS_DEFAULT_REGION',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      CDK_DISABLE_VERSION_CHECK: 'true',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
    });
  });

  it('finds cdklocal among the devDependencies', () => {
    expect(resolveCdklocal()).toMatch(/aws-cdk-local[/\\]bin[/\\]cdklocal$/);
  });

  it('reports CloudFormation’s failure lines from the log, without stack traces', () => {
    // Prepare
    const log = join(mkdtempSync(join(tmpdir(), 'pl-cdklog-')), 'cdk.log');
    writeFileSync(
      log,
      [
        'S | 1/9 | CREATE_IN_PROGRESS | AWS::SQS::Queue | Q',
        'S | 2/9 | CREATE_FAILED | AWS::Lambda::Function | F Error while creating lambda: Installation failed.',
        'Source Location: ...new Bucket2 in aws-cdk-lib...',
        '                 new DataBucket (/infra/constructs/dataBucket.ts:61:19)',
        '❌  S failed to deploy',
      ].join('\n'),
    );

    // Act
    const summary = failureSummary(log);

    // Assess
    expect(summary.split('\n')).toEqual([
      'S | 2/9 | CREATE_FAILED | AWS::Lambda::Function | F Error while creating lambda: Installation failed.',
      '❌  S failed to deploy',
    ]);
  });
});
