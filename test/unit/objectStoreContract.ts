import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../lib/adapters/errors.ts';
import type { ObjectStore } from '../../lib/adapters/objectStore.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const md5 = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('hex');

/**
 * The behaviour every ObjectStore must share (S3 semantics), run against each implementation.
 * `makeStore` must return an empty store each call (e.g. a fresh directory, or a fresh key prefix in a bucket).
 */
export function describeObjectStoreContract(name: string, makeStore: () => ObjectStore | Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    it('get returns what put stored, strings as UTF-8', async () => {
      // Prepare
      const store = await makeStore();
      const binary = Uint8Array.from({ length: 256 }, (_, i) => i);

      // Act
      await store.put('a/binary.bin', binary);
      await store.put('a/text.txt', 'héllo ✓');

      // Assess
      expect(await store.get('a/binary.bin')).toEqual(binary);
      expect(text(await store.get('a/text.txt'))).toBe('héllo ✓');
    });

    it('put overwrites, and an empty object round-trips', async () => {
      // Prepare
      const store = await makeStore();
      await store.put('k', 'first');

      // Act
      await store.put('k', 'second');
      await store.put('empty', new Uint8Array(0));

      // Assess
      expect(text(await store.get('k'))).toBe('second');
      expect((await store.get('empty')).byteLength).toBe(0);
      expect(await store.head('empty')).toMatchObject({ key: 'empty', size: 0 });
    });

    it('get, getRange of a missing key throw NotFoundError naming the location', async () => {
      // Prepare
      const store = await makeStore();

      // Act (settled together, so neither rejection is left unhandled while the other is awaited)
      const [get, range] = await Promise.allSettled([store.get('missing/key'), store.getRange('missing/key', 0, 10)]);

      // Assess
      expect(get.status === 'rejected' && get.reason).toBeInstanceOf(NotFoundError);
      expect(get.status === 'rejected' && get.reason.message).toContain(store.describe('missing/key'));
      expect(range.status === 'rejected' && range.reason).toBeInstanceOf(NotFoundError);
    });

    it('getRange returns bytes [start, end), clipped to the size', async () => {
      // Prepare
      const store = await makeStore();
      await store.put('r', '0123456789');

      // Act
      const middle = await store.getRange('r', 2, 5);
      const clipped = await store.getRange('r', 7, 100);
      const past = await store.getRange('r', 10, 20);
      const empty = await store.getRange('r', 4, 4);

      // Assess
      expect(text(middle)).toBe('234');
      expect(text(clipped)).toBe('789');
      expect(past.byteLength).toBe(0);
      expect(empty.byteLength).toBe(0);
    });

    it('head gives size and the MD5 ETag, or undefined when absent', async () => {
      // Prepare
      const store = await makeStore();
      await store.put('h/x', 'abc');
      const before = await store.head('h/x');

      // Act
      await store.put('h/x', 'abcd');
      const after = await store.head('h/x');
      const missing = await store.head('h/y');

      // Assess
      expect(before).toEqual({ key: 'h/x', size: 3, etag: md5('abc') });
      expect(after).toEqual({ key: 'h/x', size: 4, etag: md5('abcd') });
      expect(missing).toBeUndefined();
    });

    it('exists is true for an object only: not for an absent key, a deleted one or a prefix', async () => {
      // Prepare
      const store = await makeStore();
      await store.put('e/dir/x', 'abc');
      await store.put('e/gone', '');
      await store.delete('e/gone');

      // Act
      const found = await Promise.all(['e/dir/x', 'e/dir', 'e/gone', 'e/missing'].map((key) => store.exists(key)));

      // Assess
      expect(found).toEqual([true, false, false, false]);
    });

    it('putIfAbsent creates once, then returns false and keeps the first body', async () => {
      // Prepare
      const store = await makeStore();

      // Act
      const first = await store.putIfAbsent('m/marker', 'one');
      const second = await store.putIfAbsent('m/marker', 'two');

      // Assess
      expect(first).toBe(true);
      expect(second).toBe(false);
      expect(text(await store.get('m/marker'))).toBe('one');
    });

    it('of 10 concurrent putIfAbsent calls exactly one wins, and its body is stored', async () => {
      // Prepare
      const store = await makeStore();
      const bodies = Array.from({ length: 10 }, (_, i) => `writer-${i}`);

      // Act
      const results = await Promise.all(bodies.map((body) => store.putIfAbsent('race/marker', body)));

      // Assess
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(text(await store.get('race/marker'))).toBe(bodies[results.indexOf(true)]);
    });

    it('putIfMatch replaces only the version whose ETag it names, and never an absent object', async () => {
      // Prepare
      const store = await makeStore();
      await store.put('cas/latest', 'v1');
      const v1 = (await store.head('cas/latest'))!.etag;

      // Act
      const swapped = await store.putIfMatch('cas/latest', 'v2', v1);
      const stale = await store.putIfMatch('cas/latest', 'v3', v1);
      const absent = await store.putIfMatch('cas/missing', 'x', md5(''));

      // Assess
      expect(swapped).toBe(true);
      expect(stale).toBe(false);
      expect(absent).toBe(false);
      expect(text(await store.get('cas/latest'))).toBe('v2');
      expect(await store.head('cas/missing')).toBeUndefined();
    });

    it('of 8 concurrent putIfMatch calls on one version exactly one wins', async () => {
      // Prepare
      const store = await makeStore();
      await store.put('cas/race', 'base');
      const etag = (await store.head('cas/race'))!.etag;
      const bodies = Array.from({ length: 8 }, (_, i) => `swap-${i}`);

      // Act
      const results = await Promise.all(bodies.map((body) => store.putIfMatch('cas/race', body, etag)));

      // Assess
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(text(await store.get('cas/race'))).toBe(bodies[results.indexOf(true)]);
    });

    it('list returns the keys under a prefix in order, with sizes and ETags', async () => {
      // Prepare
      const store = await makeStore();
      for (const key of ['runs/b/2', 'runs/a/1', 'runs/a/10', 'runs/ab', 'other/x', 'runsx']) {
        await store.put(key, key);
      }

      // Act
      const all = await store.list('runs/');
      const partial = await store.list('runs/a');
      const none = await store.list('nothing/');

      // Assess
      expect(all.map((o) => o.key)).toEqual(['runs/a/1', 'runs/a/10', 'runs/ab', 'runs/b/2']);
      expect(partial.map((o) => o.key)).toEqual(['runs/a/1', 'runs/a/10', 'runs/ab']);
      expect(all[0]).toEqual({ key: 'runs/a/1', size: 8, etag: md5('runs/a/1') });
      expect(none).toEqual([]);
    });

    it('list with an empty prefix returns every key', async () => {
      // Prepare
      const store = await makeStore();
      await store.put('z', '1');
      await store.put('a/b', '2');

      // Act
      const keys = (await store.list('')).map((o) => o.key);

      // Assess
      expect(keys).toEqual(['a/b', 'z']);
    });

    it('delete removes an object; deleting an absent one is not an error', async () => {
      // Prepare
      const store = await makeStore();
      await store.put('d/x', 'x');
      await store.put('d/y', 'y');

      // Act
      await store.delete('d/x');
      await store.delete('d/x');
      await store.delete('never/was');

      // Assess
      expect(await store.head('d/x')).toBeUndefined();
      await expect(store.get('d/x')).rejects.toBeInstanceOf(NotFoundError);
      expect((await store.list('d/')).map((o) => o.key)).toEqual(['d/y']);
    });

    it('putIfAbsent succeeds again after the object was deleted', async () => {
      // Prepare
      const store = await makeStore();
      await store.putIfAbsent('again', 'one');
      await store.delete('again');

      // Act
      const created = await store.putIfAbsent('again', 'two');

      // Assess
      expect(created).toBe(true);
      expect(text(await store.get('again'))).toBe('two');
    });

    it('concatenate writes the parts one after the other and keeps them; an empty list gives an empty object', async () => {
      // Prepare
      const store = await makeStore();
      await store.put('parts/0', 'id,label\n');
      await store.put('parts/1', 'a,x\n');
      await store.put('parts/2', new Uint8Array(0));
      await store.put('parts/3', 'b,ÿ\n');
      await store.put('out/labels.csv', 'stale');

      // Act
      await store.concatenate('out/labels.csv', ['parts/0', 'parts/1', 'parts/2', 'parts/3']);
      await store.concatenate('out/empty.csv', []);

      // Assess
      expect(text(await store.get('out/labels.csv'))).toBe('id,label\na,x\nb,ÿ\n');
      expect(text(await store.get('parts/1'))).toBe('a,x\n');
      expect((await store.get('out/empty.csv')).byteLength).toBe(0);
    });

    it('concatenate of a missing part throws NotFoundError and writes no target', async () => {
      // Prepare
      const store = await makeStore();
      await store.put('p/0', 'zero');

      // Act
      const result = store.concatenate('out/t', ['p/0', 'p/missing']);

      // Assess
      await expect(result).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.head('out/t')).toBeUndefined();
    });

    it('concatenate assembles parts below and above 5 MiB, in order, byte for byte', async () => {
      // Prepare: on S3 the first part is copied server-side whole, the next two are buffered and filled up from
      // the head of the fourth, whose rest is copied as a range; the last is buffered into the last part
      const store = await makeStore();
      const MiB = 1024 * 1024;
      const sizes = [6 * MiB + 7, 3, 1_000_000, 12 * MiB, 11];
      const bodies = sizes.map((size, p) => Uint8Array.from({ length: size }, (_, i) => (i * 7 + p * 13) & 0xff));
      for (let p = 0; p < bodies.length; p++) await store.put(`big/${p}`, bodies[p]);
      const expected = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
      let at = 0;
      for (const body of bodies) {
        expected.set(body, at);
        at += body.byteLength;
      }

      // Act
      await store.concatenate(
        'big/all',
        bodies.map((_, p) => `big/${p}`),
      );

      // Assess
      const all = await store.get('big/all');
      expect(all.byteLength).toBe(expected.byteLength);
      expect(md5(all)).toBe(md5(expected));
    });
  });
}
