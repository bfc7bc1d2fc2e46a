import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/** The clients' types, for code outside lib/adapters (which imports no AWS SDK package itself). */
export type { S3Client, SQSClient };

/** Where AWS clients connect. Unset fields come from the environment. */
export interface AwsClientOptions {
  /** Custom endpoint (LocalStack); default `AWS_ENDPOINT_URL`, else the real AWS endpoints. */
  readonly endpoint?: string;
  /** Default `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `us-east-1`. */
  readonly region?: string;
}

/** Resolved connection settings shared by the S3 and SQS clients. */
export interface AwsSettings {
  readonly endpoint: string | undefined;
  readonly region: string;
  /** Static dummy credentials for a custom endpoint when the environment has none (LocalStack accepts any). */
  readonly credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
}

/** Applies options over the environment: endpoint, region and, for custom endpoints, fallback credentials. */
export function resolveAwsSettings(options: AwsClientOptions = {}, env: NodeJS.ProcessEnv = process.env): AwsSettings {
  const endpoint = nonEmpty(options.endpoint) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const region =
    nonEmpty(options.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1';
  const hasOwnCredentials = Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE);
  const credentials =
    endpoint !== undefined && !hasOwnCredentials ? { accessKeyId: 'test', secretAccessKey: 'test' } : undefined;
  return { endpoint, region, credentials };
}

/** An S3 client; path-style addressing whenever a custom endpoint is set (LocalStack needs it). */
export function createS3Client(options: AwsClientOptions = {}): S3Client {
  const { endpoint, region, credentials } = resolveAwsSettings(options);
  return new S3Client({
    region,
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    ...(credentials === undefined ? {} : { credentials }),
  });
}

/** An SQS client for the same endpoint and region. */
export function createSqsClient(options: AwsClientOptions = {}): SQSClient {
  const { endpoint, region, credentials } = resolveAwsSettings(options);
  return new SQSClient({
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
