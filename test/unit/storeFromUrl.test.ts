import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAwsSettings } from '../../lib/adapters/awsClients.ts';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { S3ObjectStore } from '../../lib/adapters/s3ObjectStore.ts';
import { storeFromUrl } from '../../lib/adapters/storeFromUrl.ts';

describe('storeFromUrl', () => {
  it('opens s3://bucket/prefix as an S3 store under that prefix', () => {
    // Act
    const store = storeFromUrl('s3://pseudolabel-data/runs/r1/');

    // Assess
    expect(store).toBeInstanceOf(S3ObjectStore);
    expect(store.describe('run.json')).toBe('s3://pseudolabel-data/runs/r1/run.json');
  });

  it('opens s3://bucket as the whole bucket', () => {
    expect(storeFromUrl('s3://bucket').describe('k')).toBe('s3://bucket/k');
  });

  it('opens a path or file:// URL as a filesystem store, relative paths from the working directory', () => {
    // Act
    const relative = storeFromUrl('out/x');
    const url = storeFromUrl('file:///tmp/pl');

    // Assess
    expect(relative).toBeInstanceOf(FilesystemObjectStore);
    expect(relative.describe('k')).toBe(path.resolve('out/x', 'k'));
    expect(url.describe('k')).toBe(path.join('/tmp/pl', 'k'));
  });

  it.each(['https://example.com/data', 's3://', ''])('refuses %j', (location) => {
    expect(() => storeFromUrl(location)).toThrow(RangeError);
  });
});

describe('resolveAwsSettings', () => {
  it('takes options over the environment and defaults the region to us-east-1', () => {
    // Act
    const fromOptions = resolveAwsSettings(
      { endpoint: 'http://127.0.0.1:4566', region: 'eu-west-1' },
      { AWS_ENDPOINT_URL: 'http://x:1', AWS_REGION: 'ap-south-1' },
    );
    const defaults = resolveAwsSettings({}, {});

    // Assess
    expect(fromOptions).toMatchObject({ endpoint: 'http://127.0.0.1:4566', region: 'eu-west-1' });
    expect(defaults).toEqual({ endpoint: undefined, region: 'us-east-1', credentials: undefined });
  });

  it('reads AWS_ENDPOINT_URL, AWS_REGION then AWS_DEFAULT_REGION', () => {
    // Act
    const regionFirst = resolveAwsSettings({}, { AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'us-west-2' });
    const fallback = resolveAwsSettings(
      {},
      { AWS_ENDPOINT_URL: 'http://localhost:4566', AWS_DEFAULT_REGION: 'us-west-2' },
    );

    // Assess
    expect(regionFirst.region).toBe('eu-central-1');
    expect(fallback).toMatchObject({ endpoint: 'http://localhost:4566', region: 'us-west-2' });
  });

  it('gives dummy credentials for a custom endpoint only when the environment has none', () => {
    // Act
    const bare = resolveAwsSettings({ endpoint: 'http://127.0.0.1:4566' }, {});
    const own = resolveAwsSettings({ endpoint: 'http://127.0.0.1:4566' }, { AWS_ACCESS_KEY_ID: 'AKIA' });
    const aws = resolveAwsSettings({}, {});

    // Assess
    expect(bare.credentials).toEqual({ accessKeyId: 'test', secretAccessKey: 'test' });
    expect(own.credentials).toBeUndefined();
    expect(aws.credentials).toBeUndefined();
  });
});
