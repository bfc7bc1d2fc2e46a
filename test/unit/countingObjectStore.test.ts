import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CountingObjectStore, noTraffic } from '../../lib/adapters/countingObjectStore.ts';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { describeObjectStoreContract } from './objectStoreContract.ts';

const roots: string[] = [];
async function freshStore(): Promise<FilesystemObjectStore> {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-counting-store-'));
  roots.push(root);
  return new FilesystemObjectStore(root);
}
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

describeObjectStoreContract('CountingObjectStore', async () => new CountingObjectStore(await freshStore()));

describe('CountingObjectStore', () => {
  it('counts the bytes of bodies read and written, strings as UTF-8', async () => {
    // Prepare
    const store = new CountingObjectStore(await freshStore());

    // Act
    await store.put('a.bin', new Uint8Array(1000));
    await store.put('b.txt', 'héllo'); // 6 bytes in UTF-8
    await store.get('a.bin');
    await store.getRange('a.bin', 100, 350);
    await store.getRange('a.bin', 900, 5000); // clipped to the object: 100 bytes

    // Assess
    expect(store.traffic).toEqual({ bytesRead: 1000 + 250 + 100, bytesWritten: 1006 });
  });

  it('counts a conditional put only when it created the object', async () => {
    // Prepare
    const store = new CountingObjectStore(await freshStore());

    // Act
    const first = await store.putIfAbsent('marker', 'x'.repeat(40));
    const second = await store.putIfAbsent('marker', 'y'.repeat(40));

    // Assess
    expect([first, second]).toEqual([true, false]);
    expect(store.traffic.bytesWritten).toBe(40);
  });

  it('listings, heads and deletes move no body and count nothing', async () => {
    // Prepare
    const inner = await freshStore();
    await inner.put('p/a', new Uint8Array(64));
    const store = new CountingObjectStore(inner);

    // Act
    await store.list('p/');
    await store.head('p/a');
    await store.delete('p/a');

    // Assess
    expect(store.traffic).toEqual(noTraffic());
  });

  it('wrappers sharing one tally add up what each moved', async () => {
    // Prepare
    const traffic = noTraffic();
    const runStore = new CountingObjectStore(await freshStore(), traffic);
    const inputStore = new CountingObjectStore(await freshStore(), traffic);
    await inputStore.put('input.csv', 'a,b\n1,2\n');

    // Act
    const input = await inputStore.get('input.csv');
    await runStore.put('shard.bin', input);

    // Assess
    expect(traffic).toEqual({ bytesRead: 8, bytesWritten: 16 });
  });
});
