import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { removeTempDirs, repoPath, tempDir } from '../cli/cliHarness.ts';
import { defaultConfig, localstackClients } from './localstackResources.ts';

/**
 * Issue 20 on LocalStack: `pseudolabel run --input s3://.../data.csv.gz` reads the compressed object with ranged
 * GETs and inflates it in its one ingest task; labels.csv and rejected.csv equal those of the plain object.
 */

const BIN = repoPath('bin/pseudolabel.mjs');

function pseudolabel(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray()).toString('utf8');
}

describe('a gzip-compressed input in S3', () => {
  const { s3, endpoint } = localstackClients();
  const bucket = defaultConfig().bucket;
  /** Unique, and outside incoming/, so no S3 notification starts a serverless run over these objects. */
  const prefix = `test-compressed-s3/${randomUUID().slice(0, 8)}`;
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: inject('localstackRegion'),
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };

  beforeAll(async () => {
    const lines = (await readFile(repoPath('examples/digits.csv'), 'utf8')).trimEnd().split('\n').slice(0, 501);
    lines[40] = lines[40].replace(/,[^,]*$/, ',abc'); // a rejected row, by its line
    lines[300] = lines[300].split(',').slice(0, 5).join(',');
    const text = `${lines.join('\n')}\n`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/plain/digits.csv`, Body: text }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/gz/digits.csv.gz`, Body: gzipSync(text) }));
  });

  afterAll(async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
    const objects = (listed.Contents ?? []).map(({ Key }) => ({ Key }));
    if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    await removeTempDirs();
  });

  it('gives labels.csv and rejected.csv byte-identical to the plain object', async () => {
    // Prepare
    const options = ['--neighbors', '5', '--shards', '3', '--workers', '2'];
    const plainKey = `s3://${bucket}/${prefix}/plain/digits.csv`;
    const gzKey = `s3://${bucket}/${prefix}/gz/digits.csv.gz`;
    // Act
    const plain = await pseudolabel(
      ['run', '--input', plainKey, '--out', `s3://${bucket}/${prefix}/out-plain`, ...options],
      await tempDir(),
      env,
    );
    const packed = await pseudolabel(
      ['run', '--input', gzKey, '--out', `s3://${bucket}/${prefix}/out-gz`, ...options],
      await tempDir(),
      env,
    );
    // Assess
    expect(plain.code, plain.stderr).toBe(0);
    expect(packed.code, packed.stderr).toBe(0);
    const labels = await getText(s3, bucket, `${prefix}/out-gz/labels.csv`);
    expect(labels).toBe(await getText(s3, bucket, `${prefix}/out-plain/labels.csv`));
    expect(labels.trimEnd().split('\n')).toHaveLength(499);
    const rejected = await getText(s3, bucket, `${prefix}/out-gz/rejected.csv`);
    expect(rejected).toBe((await getText(s3, bucket, `${prefix}/out-plain/rejected.csv`)).replaceAll(plainKey, gzKey));
    expect(rejected).toContain(`${gzKey},41,`);
  });
});
