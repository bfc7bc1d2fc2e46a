import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
 * `pseudolabel run --input s3://... --out s3://...` (DESIGN.md section 3, CLI): the embedded runner reads its
 * input from S3 (a key, or the data objects of a prefix, picked as a directory's files are) and writes its output
 * files under the out prefix. The spawned command gets the LocalStack endpoint through the usual AWS environment.
 * Its labels must be those of the same run over local files, byte for byte.
 */

const BIN = repoPath('bin/pseudolabel.mjs');

interface Spawned {
  readonly code: number;
  readonly stderr: string;
}

/** `node bin/pseudolabel.mjs <args>` in `cwd` (where the run state .pseudolabel/ is kept), with extra env. */
function pseudolabel(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Spawned> {
  return new Promise((done, fail) => {
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

async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

async function keysUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key!.slice(prefix.length)).sort();
}

describe('pseudolabel run with s3:// input and output', () => {
  const { s3, endpoint } = localstackClients();
  const bucket = defaultConfig().bucket;
  /** Outside incoming/, so no S3 notification starts a serverless run over these objects. */
  const prefix = `test-run-s3/${randomUUID().slice(0, 8)}`;
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: inject('localstackRegion'),
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    // On Node 20 the SDK prints a multi-line notice that it will need Node 22 from 2027; not what is tested here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  /** The same files locally (a directory) and under s3://<bucket>/<prefix>/input/. */
  const files: Record<string, string> = {};

  beforeAll(async () => {
    const lines = (await readFile(repoPath('examples/digits.csv'), 'utf8')).split('\n');
    const header = lines[0];
    files['digits-a.csv'] = `${[header, ...lines.slice(1, 201)].join('\n')}\n`;
    files['digits-b.csv'] = `${[header, ...lines.slice(201, 401)].join('\n')}\n`;
    // Not data files of the input: options file, hidden file, nested file (each would fail the run if read).
    files['pseudolabel.json'] = JSON.stringify({ neighbors: 3 });
    files['.hidden.csv'] = 'id,label,other\nh1,1,0\n';
    files['nested/more.csv'] = 'id,label,other\nn1,1,0\n';
    await Promise.all(
      Object.entries(files).map(([name, body]) =>
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/input/${name}`, Body: body })),
      ),
    );
  });

  afterAll(async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
    const objects = (listed.Contents ?? []).map(({ Key }) => ({ Key }));
    if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    await removeTempDirs();
  });

  /** Writes `files` into a fresh local directory; returns it. */
  async function localInput(): Promise<string> {
    const dir = join(await tempDir(), 'input');
    for (const [name, body] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), body);
    }
    return dir;
  }

  it('labels a prefix as it labels the same directory: labels.csv byte for byte, every output file in S3', async () => {
    // Prepare
    const options = ['--neighbors', '7', '--shards', '3', '--workers', '2'];
    const local = await tempDir();
    const remote = await tempDir();
    const out = `s3://${bucket}/${prefix}/out-dir`;
    // Act
    const fromFiles = await pseudolabel(
      ['run', '--input', await localInput(), '--out', join(local, 'out'), ...options],
      local,
      {},
    );
    const fromS3 = await pseudolabel(
      ['run', '--input', `s3://${bucket}/${prefix}/input`, '--out', out, ...options],
      remote,
      env,
    );
    // Assess
    expect(fromFiles.code, fromFiles.stderr).toBe(0);
    expect(fromS3.code, fromS3.stderr).toBe(0);
    const written = await keysUnder(s3, bucket, `${prefix}/out-dir/`);
    expect(written).toEqual((await readdir(join(local, 'out'))).sort());
    expect(written).toEqual(expect.arrayContaining(['labels.csv', 'report.html', 'report.json']));
    const labels = await getBytes(s3, bucket, `${prefix}/out-dir/labels.csv`);
    expect(labels.equals(await readFile(join(local, 'out', 'labels.csv')))).toBe(true);
    expect(labels.toString('utf8').trimEnd().split('\n')).toHaveLength(401);
    const report = JSON.parse((await getBytes(s3, bucket, `${prefix}/out-dir/report.json`)).toString('utf8'));
    expect({ n: report.n, rejected: report.rejected }).toEqual({ n: 400, rejected: 0 });
    expect(fromS3.stderr).toContain(`wrote ${out}`);
  });

  it('reads a single key and writes Parquet labels equal to the local run', async () => {
    // Prepare
    const options = ['--neighbors', '5', '--format', 'parquet', '--workers', '1'];
    const local = await tempDir();
    const remote = await tempDir();
    const file = join(await localInput(), 'digits-a.csv');
    // Act
    const fromFile = await pseudolabel(['run', '--input', file, '--out', join(local, 'out'), ...options], local, {});
    const fromS3 = await pseudolabel(
      [
        'run',
        '--input',
        `s3://${bucket}/${prefix}/input/digits-a.csv`,
        '--out',
        `s3://${bucket}/${prefix}/out-file/`,
        ...options,
      ],
      remote,
      env,
    );
    // Assess
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromS3.code, fromS3.stderr).toBe(0);
    const written = await keysUnder(s3, bucket, `${prefix}/out-file/`);
    expect(written).toEqual((await readdir(join(local, 'out'))).sort());
    const labels = await getBytes(s3, bucket, `${prefix}/out-file/labels.parquet`);
    expect(labels.equals(await readFile(join(local, 'out', 'labels.parquet')))).toBe(true);
  });

  it('fails with one line naming the s3 URL when the input key or bucket does not exist', async () => {
    // Prepare
    const cwd = await tempDir();
    const missingKey = `s3://${bucket}/${prefix}/nothing-here.csv`;
    const missingBucket = `s3://no-such-bucket-${randomUUID().slice(0, 8)}/data.csv`;
    // Act
    const noKey = await pseudolabel(['run', '--input', missingKey, '--out', join(cwd, 'out')], cwd, env);
    const noBucket = await pseudolabel(['run', '--input', missingBucket, '--out', join(cwd, 'out')], cwd, env);
    // Assess
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr.trim().split('\n')).toEqual([
      `pseudolabel: cannot read input file ${missingKey}: no such key or prefix`,
    ]);
    expect(noBucket.code).not.toBe(0);
    expect(noBucket.stderr.trim().split('\n')).toEqual([
      `pseudolabel: cannot read input file ${missingBucket}: bucket ${missingBucket.slice(5, -9)} does not exist`,
    ]);
  });

  it('refuses an output bucket that does not exist before running, naming the s3 URL', async () => {
    // Prepare
    const cwd = await tempDir();
    const out = `s3://no-such-bucket-${randomUUID().slice(0, 8)}/out`;
    // Act
    const result = await pseudolabel(
      ['run', '--input', `s3://${bucket}/${prefix}/input/digits-a.csv`, '--out', out],
      cwd,
      env,
    );
    // Assess
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toEqual([
      `pseudolabel: cannot write output to ${out}: bucket ${out.slice(5, -4)} does not exist`,
    ]);
  });
});
