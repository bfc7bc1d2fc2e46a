import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, LOCALSTACK_BUCKET_NAME, readConfig, resolveConfig } from '../../infra/config.ts';
import { ContextValueError } from '../../infra/errors.ts';
import { cdkJsonContext } from './helpers.ts';

function configFrom(context: Record<string, unknown>) {
  return readConfig(new App({ context }).node);
}

describe('readConfig', () => {
  it('reads the defaults written in cdk.json, equal to DEFAULT_CONFIG', () => {
    // Prepare
    const context = cdkJsonContext();

    // Act
    const config = configFrom(context);

    // Assess
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(context['cli-telemetry']).toBe(false);
  });

  it('uses the defaults when the context is empty', () => {
    expect(configFrom({})).toEqual(DEFAULT_CONFIG);
  });

  it('parses string values as given by -c key=value', () => {
    // Act
    const config = configFrom({
      localstack: 'true',
      fanOut: '250',
      workerMemoryMb: '4096',
      workerTimeoutSeconds: '600',
      eventsMaxBatchingWindowSeconds: '20',
      intermediateExpirationDays: '3',
      logRetentionDays: '14',
      destroyOnRemoval: 'false',
      datasets: 'alpha, beta',
      schedule: 'rate(1 day)',
      maxShards: '250',
      maxColumns: '5000',
    });

    // Assess
    expect(config.localstack).toBe(true);
    expect(config.consumers.tasks.maxConcurrency).toBe(250);
    expect(config.functions.worker).toEqual({ memoryMb: 4096, timeoutSeconds: 600 });
    expect(config.functions.reducer).toEqual(DEFAULT_CONFIG.functions.reducer);
    expect(config.consumers.events.maxBatchingWindowSeconds).toBe(20);
    expect(config.intermediateExpirationDays).toBe(3);
    expect(config.logRetentionDays).toBe(14);
    expect(config.destroyOnRemoval).toBe(false);
    expect(config.datasets).toEqual(['alpha', 'beta']);
    expect(config.schedule).toBe('rate(1 day)');
    expect({ maxShards: config.maxShards, maxColumns: config.maxColumns }).toEqual({
      maxShards: 250,
      maxColumns: 5000,
    });
  });

  it('accepts datasets as a JSON array, in cdk.json or as a string', () => {
    expect(configFrom({ datasets: ['a', 'b'] }).datasets).toEqual(['a', 'b']);
    expect(configFrom({ datasets: '["c","d"]' }).datasets).toEqual(['c', 'd']);
  });

  it('names the LocalStack bucket pseudolabel-data unless told otherwise, and leaves it generated on AWS', () => {
    expect(configFrom({ localstack: true }).bucketName).toBe(LOCALSTACK_BUCKET_NAME);
    expect(configFrom({ localstack: true, bucketName: 'my-local-bucket' }).bucketName).toBe('my-local-bucket');
    expect(configFrom({}).bucketName).toBeUndefined();
  });

  it.each([
    ['fanOut', 'many', 'a number'],
    ['fanOut', '1', 'an integer in [2, 1000]'],
    ['workerTimeoutSeconds', '901', 'an integer in [1, 900]'],
    ['workerMemoryMb', '64', 'an integer in [128, 10240]'],
    ['tasksBatchSize', '11', 'an integer in [1, 10]'],
    ['logRetentionDays', '10', 'one of 1, 3, 5, 7, 14'],
    ['localstack', 'yes', 'true or false'],
    ['schedule', '0 3 * * *', 'an EventBridge schedule expression'],
    ['datasets', 'ok,bad/name', 'dataset names'],
    ['datasets', 'a,a', 'a list without duplicates'],
    ['datasets', '[1,2]', 'a list of strings'],
    ['bucketName', 'Upper_Case', 'an S3 bucket name'],
    ['alarmTopicArn', 'arn:aws:sqs:us-east-1:1:q', 'an SNS topic ARN'],
    ['maxShards', '0', 'an integer in [1, 100000]'],
    ['maxColumns', '1.5', 'an integer in [1, 10000000]'],
  ])('rejects %s=%j with a message naming the key', (key, value, expected) => {
    // Act
    const act = () => configFrom({ [key]: value });

    // Assess
    expect(act).toThrow(ContextValueError);
    expect(act).toThrow(`context "${key}" must be ${expected}`);
  });
});

describe('resolveConfig', () => {
  it('merges nested overrides per function and per queue', () => {
    // Act
    const config = resolveConfig({
      functions: { worker: { memoryMb: 8192 } },
      consumers: { reduce: { maxConcurrency: 3 } },
    });

    // Assess
    expect(config.functions.worker).toEqual({ memoryMb: 8192, timeoutSeconds: 900 });
    expect(config.consumers.reduce).toEqual({ ...DEFAULT_CONFIG.consumers.reduce, maxConcurrency: 3 });
    expect(config.consumers.tasks).toEqual(DEFAULT_CONFIG.consumers.tasks);
  });
});
