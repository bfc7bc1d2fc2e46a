import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError, StoreUnavailableError } from '../../lib/adapters/errors.ts';
import { FilesystemObjectStore, STAGING_DIR } from '../../lib/adapters/filesystemObjectStore.ts';
import { describeObjectStoreContract } from './objectStoreContract.ts';

const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-fs-store-'));
  roots.push(root);
  return root;
}
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

describeObjectStoreContract('FilesystemObjectStore', async () => new FilesystemObjectStore(await freshRoot()));

describe('FilesystemObjectStore', () => {
  it('maps keys to files under the root', async () => {
    // Prepare
    const root = await freshRoot();
    const store = new FilesystemObjectStore(root);

    // Act
    await store.put('runs/r1/run.json', '{}');

    // Assess
    expect(existsSync(path.join(root, 'runs', 'r1', 'run.json'))).toBe(true);
    expect(store.describe('runs/r1/run.json')).toBe(path.join(root, 'runs', 'r1', 'run.json'));
  });

  it('a one-part concatenate (a copy) shares the file but keeps its content when the source is replaced', async () => {
    // Prepare
    const root = await freshRoot();
    const store = new FilesystemObjectStore(root);
    await store.put('runs/r1/model.bin', 'first');

    // Act
    await store.concatenate('versions/1/model.bin', ['runs/r1/model.bin']);
    await store.put('runs/r1/model.bin', 'second');
    await store.delete('runs/r1/model.bin');

    // Assess
    expect(new TextDecoder().decode(await store.get('versions/1/model.bin'))).toBe('first');
    expect(await readdir(path.join(root, STAGING_DIR))).toEqual([]);
  });

  it.each(['../escape', '/absolute', 'a//b', 'a/./b', 'a/', '', `${STAGING_DIR}/x`])(
    'rejects the key %j with a RangeError',
    async (key) => {
      // Prepare
      const store = new FilesystemObjectStore(await freshRoot());

      // Act
      const put = store.put(key, 'x');

      // Assess
      await expect(put).rejects.toBeInstanceOf(RangeError);
    },
  );

  it('get returns plain byte arrays that share memory with nothing else, small or large', async () => {
    // Prepare: an empty, a small (Node may read it into its shared buffer pool) and a large object
    const store = new FilesystemObjectStore(await freshRoot());
    const objects = { empty: new Uint8Array(0), small: Uint8Array.from([1, 2, 3]), large: new Uint8Array(1 << 20) };
    objects.large.fill(7);
    for (const [key, bytes] of Object.entries(objects)) await store.put(key, bytes);

    // Act
    const read = await Promise.all(Object.keys(objects).map((key) => store.get(key)));

    // Assess: the same bytes, as Uint8Array (not Buffer, whose slice() is a view), each owning its whole buffer
    Object.values(objects).forEach((bytes, i) => {
      expect(read[i].constructor).toBe(Uint8Array);
      expect(read[i].byteOffset).toBe(0);
      expect(read[i].buffer.byteLength).toBe(bytes.byteLength);
      expect(Array.from(read[i])).toEqual(Array.from(bytes));
    });
  });

  it('leaves no staged files behind and never lists the staging directory', async () => {
    // Prepare
    const root = await freshRoot();
    const store = new FilesystemObjectStore(root);
    await mkdir(path.join(root, STAGING_DIR), { recursive: true });
    await writeFile(path.join(root, STAGING_DIR, 'orphan'), 'left by a killed writer');

    // Act
    await store.put('a', '1');
    await store.putIfAbsent('b', '2');
    await store.putIfAbsent('b', '3');
    const keys = (await store.list('')).map((o) => o.key);

    // Assess
    expect(keys).toEqual(['a', 'b']);
    expect(await readdir(path.join(root, STAGING_DIR))).toEqual(['orphan']);
  });

  it('delete prunes the directories it leaves empty, and no others', async () => {
    // Prepare
    const root = await freshRoot();
    const store = new FilesystemObjectStore(root);
    await store.put('x/y/z/file', '1');
    await store.put('x/keep', '2');

    // Act
    await store.delete('x/y/z/file');

    // Assess
    expect(existsSync(path.join(root, 'x', 'y'))).toBe(false);
    expect(existsSync(path.join(root, 'x', 'keep'))).toBe(true);
  });

  it('treats a directory as an absent object', async () => {
    // Prepare
    const store = new FilesystemObjectStore(await freshRoot());
    await store.put('dir/file', '1');

    // Act
    const head = await store.head('dir');
    const get = store.get('dir');

    // Assess
    expect(head).toBeUndefined();
    await expect(get).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses to write an object over a directory of other objects', async () => {
    // Prepare
    const store = new FilesystemObjectStore(await freshRoot());
    await store.put('dir/file', '1');

    // Act
    const put = store.put('dir', '2');

    // Assess
    await expect(put).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('lets exactly one of several store instances on one root win putIfAbsent', async () => {
    // Prepare
    const root = await freshRoot();
    const stores = Array.from({ length: 8 }, () => new FilesystemObjectStore(root));

    // Act
    const results = await Promise.all(stores.map((store, i) => store.putIfAbsent('markers/neighbors/0/3', `w${i}`)));

    // Assess
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('keys() gives the keys list() gives, in the same order, without their ETags', async () => {
    // Prepare
    const store = new FilesystemObjectStore(await freshRoot());
    for (const key of ['runs/r/b.bin', 'runs/r/a/c.json', 'runs/r/a.json', 'runs/s/x.json', 'other.txt']) {
      await store.put(key, key);
    }

    // Act
    const keys = await store.keys('runs/r');
    const listed = await store.list('runs/r');

    // Assess
    expect(keys).toEqual(['runs/r/a.json', 'runs/r/a/c.json', 'runs/r/b.bin']);
    expect(keys).toEqual(listed.map((info) => info.key));
  });

  it('lists an empty result for a root that does not exist yet', async () => {
    // Prepare
    const store = new FilesystemObjectStore(path.join(await freshRoot(), 'not', 'created'));

    // Act
    const listed = await store.list('');

    // Assess
    expect(listed).toEqual([]);
  });

  it('rejects negative or fractional ranges', async () => {
    // Prepare
    const store = new FilesystemObjectStore(await freshRoot());
    await store.put('r', '0123');

    // Act
    const [negative, fractional] = await Promise.allSettled([store.getRange('r', -1, 2), store.getRange('r', 0, 1.5)]);

    // Assess
    expect(negative.status === 'rejected' && negative.reason).toBeInstanceOf(RangeError);
    expect(fractional.status === 'rejected' && fractional.reason).toBeInstanceOf(RangeError);
  });
  it('pruneEmptyDirectories removes directories that hold no key, below the given one only', async () => {
    // Prepare: what a writer killed between mkdir and rename leaves (empty shards/3/), next to kept keys.
    const root = await freshRoot();
    const store = new FilesystemObjectStore(root);
    await store.put('runs/r1/run.json', '{}');
    await store.put('runs/r1/output/labels.csv', 'id,label\n');
    await mkdir(path.join(root, 'runs', 'r1', 'shards', '3'), { recursive: true });
    await mkdir(path.join(root, 'runs', 'r2', 'empty'), { recursive: true });

    // Act
    await store.pruneEmptyDirectories('runs/r1/');

    // Assess
    expect((await readdir(path.join(root, 'runs', 'r1'))).sort()).toEqual(['output', 'run.json']);
    expect(await store.keys('runs/r1/')).toEqual(['runs/r1/output/labels.csv', 'runs/r1/run.json']);
    expect(existsSync(path.join(root, 'runs', 'r2', 'empty'))).toBe(true);
  });
});
