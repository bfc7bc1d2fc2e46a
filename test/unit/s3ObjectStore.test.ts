import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { NotFoundError, StoreUnavailableError } from '../../lib/adapters/errors.ts';
import { S3ObjectStore } from '../../lib/adapters/s3ObjectStore.ts';

/** An error shaped like the SDK's service exceptions. */
function awsError(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

/** A stand-in S3 client that answers each command with the next scripted outcome. */
function scriptedS3(outcomes: ((command: { input: Record<string, unknown> }) => unknown)[]) {
  const inputs: Record<string, unknown>[] = [];
  const client = {
    async send(command: { input: Record<string, unknown> }) {
      inputs.push(command.input);
      const next = outcomes.shift();
      if (next === undefined) throw new Error('no scripted outcome left');
      return next(command);
    },
  };
  return { client: client as unknown as S3Client, inputs };
}

const fail = (error: Error) => () => {
  throw error;
};

describe('S3ObjectStore (against a scripted client)', () => {
  it('puts under the prefix and describes keys as s3 URLs', async () => {
    // Prepare
    const { client, inputs } = scriptedS3([(c) => (c instanceof PutObjectCommand ? {} : fail(new Error('wrong'))())]);
    const store = new S3ObjectStore({ bucket: 'b', prefix: '/runs/r1/', client });

    // Act
    await store.put('run.json', '{}');

    // Assess
    expect(inputs[0]).toMatchObject({ Bucket: 'b', Key: 'runs/r1/run.json' });
    expect(store.describe('run.json')).toBe('s3://b/runs/r1/run.json');
  });

  it('asks for an inclusive byte range', async () => {
    // Prepare
    const body = { transformToByteArray: async () => new Uint8Array([1, 2, 3]) };
    const { client, inputs } = scriptedS3([(c) => (c instanceof GetObjectCommand ? { Body: body } : {})]);
    const store = new S3ObjectStore({ bucket: 'b', client });

    // Act
    const bytes = await store.getRange('k', 10, 13);

    // Assess
    expect(inputs[0]).toMatchObject({ Key: 'k', Range: 'bytes=10-12' });
    expect(bytes).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('sends If-None-Match: * and maps 412 PreconditionFailed to false', async () => {
    // Prepare
    const { client, inputs } = scriptedS3([fail(awsError('PreconditionFailed', 412))]);
    const store = new S3ObjectStore({ bucket: 'b', client });

    // Act
    const created = await store.putIfAbsent('marker', 'x');

    // Assess
    expect(created).toBe(false);
    expect(inputs[0]).toMatchObject({ IfNoneMatch: '*' });
  });

  it('retries a 409 ConditionalRequestConflict', async () => {
    // Prepare
    const { client, inputs } = scriptedS3([
      fail(awsError('ConditionalRequestConflict', 409)),
      fail(awsError('ConditionalRequestConflict', 409)),
      () => ({}),
    ]);
    const store = new S3ObjectStore({ bucket: 'b', client });

    // Act
    const created = await store.putIfAbsent('marker', 'x');

    // Assess
    expect(created).toBe(true);
    expect(inputs).toHaveLength(3);
  });

  it('translates NoSuchKey to NotFoundError and a 404 head to undefined', async () => {
    // Prepare
    const { client } = scriptedS3([
      fail(awsError('NoSuchKey', 404)),
      (c) => (c instanceof HeadObjectCommand ? fail(awsError('NotFound', 404))() : {}),
    ]);
    const store = new S3ObjectStore({ bucket: 'b', prefix: 'p', client });

    // Act
    const get = store.get('gone');
    await get.catch(() => {});
    const head = await store.head('gone');

    // Assess
    await expect(get).rejects.toBeInstanceOf(NotFoundError);
    await expect(get).rejects.toThrow('s3://b/p/gone');
    expect(head).toBeUndefined();
  });

  it('reports a missing bucket or a network failure as StoreUnavailableError', async () => {
    // Prepare
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });
    const { client } = scriptedS3([fail(awsError('NoSuchBucket', 404)), fail(refused)]);
    const store = new S3ObjectStore({ bucket: 'b', client });

    // Act
    const missingBucket = store.get('k');
    await missingBucket.catch(() => {});
    const network = store.put('k', 'v');

    // Assess
    await expect(missingBucket).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(network).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(network).rejects.toThrow(/ECONNREFUSED/);
  });

  it('answers an empty range with a head, not a ranged get', async () => {
    // Prepare
    const { client, inputs } = scriptedS3([() => ({ ContentLength: 5, ETag: '"e"' })]);
    const store = new S3ObjectStore({ bucket: 'b', client });

    // Act
    const bytes = await store.getRange('k', 3, 3);

    // Assess
    expect(bytes.byteLength).toBe(0);
    expect(inputs[0]).not.toHaveProperty('Range');
  });
});
