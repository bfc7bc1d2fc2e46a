import { describe, expect, it } from 'vitest';
import { createS3Client, resolveAwsSettings } from '../../lib/adapters/awsClients.ts';

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

describe('createS3Client', () => {
  it('uses path-style addressing for a custom endpoint only', () => {
    // Act
    const local = createS3Client({ endpoint: 'http://127.0.0.1:4566', region: 'us-east-1' });
    const aws = createS3Client({ region: 'us-east-1' });

    // Assess
    expect(local.config.forcePathStyle).toBe(true);
    expect(aws.config.forcePathStyle).toBe(false);
  });
});
