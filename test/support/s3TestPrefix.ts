import { randomUUID } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { defaultConfig, localstackClients } from '../integration/localstackResources.ts';

/**
 * One test file's own place in LocalStack's data bucket, for `pseudolabel run` over s3:// URLs: a unique prefix
 * outside incoming/ (so no S3 notification starts a serverless run over its objects), the environment that lets a
 * spawned command reach LocalStack as a user's AWS settings would, and the object reads the tests assess with.
 * Call it in a describe block (it reads vitest's injected endpoint).
 */
export interface S3TestPrefix {
  readonly s3: S3Client;
  readonly bucket: string;
  /** `<name>/<8 random characters>`, without a trailing slash. */
  readonly prefix: string;
  /** AWS endpoint, region and test credentials for a spawned `pseudolabel`. */
  readonly env: NodeJS.ProcessEnv;
  put(key: string, body: string | Uint8Array): Promise<void>;
  bytes(key: string): Promise<Buffer>;
  text(key: string): Promise<string>;
  /** The keys under `under` (a prefix ending in '/'), relative to it and sorted. */
  keysUnder(under: string): Promise<string[]>;
  /** Deletes every object under the prefix (call from afterAll). */
  removeAll(): Promise<void>;
}

export function s3TestPrefix(name: string): S3TestPrefix {
  const { s3, endpoint } = localstackClients();
  const bucket = defaultConfig().bucket;
  const prefix = `${name}/${randomUUID().slice(0, 8)}`;
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: inject('localstackRegion'),
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    // On Node 20 the SDK prints a multi-line notice that it will need Node 22 from 2027; not what is tested here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const bytes = async (key: string): Promise<Buffer> => {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await response.Body!.transformToByteArray());
  };
  const listed = async (under: string): Promise<string[]> => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: under }));
    return (page.Contents ?? []).map((object) => object.Key!);
  };
  return {
    s3,
    bucket,
    prefix,
    env,
    put: async (key, body) => void (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))),
    bytes,
    text: async (key) => (await bytes(key)).toString('utf8'),
    keysUnder: async (under) => (await listed(under)).map((key) => key.slice(under.length)).sort(),
    removeAll: async () => {
      const objects = (await listed(`${prefix}/`)).map((Key) => ({ Key }));
      if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    },
  };
}
