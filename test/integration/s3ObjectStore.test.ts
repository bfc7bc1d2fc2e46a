import { randomUUID } from 'node:crypto';
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../lib/adapters/errors.ts';
import { MULTIPART_THRESHOLD, S3ObjectStore } from '../../lib/adapters/s3ObjectStore.ts';
import { INTERMEDIATE_TAG, isIntermediate } from '../../lib/pipeline/keys.ts';
import { describeObjectStoreContract } from '../unit/objectStoreContract.ts';
import { defaultConfig, localstackClients } from './localstackResources.ts';

/** A store on the provisioned bucket under a fresh prefix, so every test starts empty. */
function freshStore(): S3ObjectStore {
  return new S3ObjectStore({
    bucket: defaultConfig().bucket,
    prefix: `test/${randomUUID()}`,
    client: localstackClients().s3,
  });
}

describeObjectStoreContract('S3ObjectStore on LocalStack', freshStore);

describe('S3ObjectStore on LocalStack', () => {
  it('a second If-None-Match put returns false and leaves the first object', async () => {
    // Prepare
    const store = freshStore();
    const first = await store.putIfAbsent('runs/r/markers/reduce/0', 'winner');

    // Act
    const second = await store.putIfAbsent('runs/r/markers/reduce/0', 'loser');

    // Assess
    expect([first, second]).toEqual([true, false]);
    expect(new TextDecoder().decode(await store.get('runs/r/markers/reduce/0'))).toBe('winner');
  });

  it('uploads a body above 8 MB as multipart and reads ranges across its parts', async () => {
    // Prepare
    const store = freshStore();
    const size = MULTIPART_THRESHOLD + 1_000_000;
    const body = new Uint8Array(size);
    for (let i = 0; i < size; i++) body[i] = (i * 31) & 0xff;

    // Act
    await store.put('shards/0/big.bin', body);
    const info = await store.head('shards/0/big.bin');
    const across = await store.getRange('shards/0/big.bin', MULTIPART_THRESHOLD - 5, MULTIPART_THRESHOLD + 5);

    // Assess
    expect(info?.size).toBe(size);
    expect(info?.etag).toMatch(/-2$/); // multipart ETag: <md5 of part md5s>-<part count>
    expect(across).toEqual(body.subarray(MULTIPART_THRESHOLD - 5, MULTIPART_THRESHOLD + 5));
  });

  it('reports a bucket that does not exist as StoreUnavailableError', async () => {
    // Prepare
    const store = new S3ObjectStore({ bucket: `missing-${randomUUID()}`, client: localstackClients().s3 });

    // Act
    const get = store.get('k');

    // Assess
    await expect(get).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('S3ObjectStore tags on LocalStack', () => {
  it('tags intermediate run objects (put, putIfAbsent, multipart) and leaves run.json and output/ untagged', async () => {
    // Prepare
    const { s3 } = localstackClients();
    const prefix = `test/${randomUUID()}`;
    const store = new S3ObjectStore({
      bucket: defaultConfig().bucket,
      prefix,
      client: s3,
      tags: (key) => (isIntermediate(key) ? INTERMEDIATE_TAG : undefined),
    });
    const tagsOf = async (key: string) =>
      (await s3.send(new GetObjectTaggingCommand({ Bucket: defaultConfig().bucket, Key: `${prefix}/${key}` }))).TagSet;

    // Act
    await store.put('runs/r/shards/00000/ingest.bin', 'x');
    await store.putIfAbsent('runs/r/markers/ingest/0/00000', '{}');
    await store.put('runs/r/shards/00001/ingest.bin', new Uint8Array(MULTIPART_THRESHOLD + 1));
    await store.put('runs/r/run.json', '{}');
    await store.put('runs/r/output/labels.csv', 'id,label\n');

    // Assess
    const tag = [{ Key: 'pseudolabel:intermediate', Value: 'true' }];
    expect(await tagsOf('runs/r/shards/00000/ingest.bin')).toEqual(tag);
    expect(await tagsOf('runs/r/markers/ingest/0/00000')).toEqual(tag);
    expect(await tagsOf('runs/r/shards/00001/ingest.bin')).toEqual(tag);
    expect(await tagsOf('runs/r/run.json')).toEqual([]);
    expect(await tagsOf('runs/r/output/labels.csv')).toEqual([]);
  });
});
