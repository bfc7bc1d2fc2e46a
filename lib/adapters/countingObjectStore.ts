import type { ObjectInfo, ObjectStore } from './objectStore.ts';

/** Bytes a task moved through its stores: object bodies read (get, getRange) and written (put, putIfAbsent). */
export interface StoreTraffic {
  bytesRead: number;
  bytesWritten: number;
}

export function noTraffic(): StoreTraffic {
  return { bytesRead: 0, bytesWritten: 0 };
}

/**
 * An ObjectStore that adds the bytes of every body it reads or writes to a StoreTraffic, then behaves as the
 * store it wraps. Several wrappers may share one StoreTraffic (a task's run store and its input stores), so a
 * task's figures are the sum of everything it moved. Listings, heads and deletes carry no body and count nothing.
 */
export class CountingObjectStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    readonly traffic: StoreTraffic = noTraffic(),
  ) {}

  describe(key: string): string {
    return this.inner.describe(key);
  }

  async get(key: string): Promise<Uint8Array> {
    const body = await this.inner.get(key);
    this.traffic.bytesRead += body.byteLength;
    return body;
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    const body = await this.inner.getRange(key, start, end);
    this.traffic.bytesRead += body.byteLength;
    return body;
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    await this.inner.put(key, body);
    this.traffic.bytesWritten += byteLengthOf(body);
  }

  /** Counts the body when this call created the object (a put that found it present wrote nothing). */
  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const created = await this.inner.putIfAbsent(key, body);
    if (created) this.traffic.bytesWritten += byteLengthOf(body);
    return created;
  }

  /** Counts the body when this call replaced the object. */
  async putIfMatch(key: string, body: Uint8Array | string, etag: string): Promise<boolean> {
    const replaced = await this.inner.putIfMatch(key, body, etag);
    if (replaced) this.traffic.bytesWritten += byteLengthOf(body);
    return replaced;
  }

  /** Counts nothing: on S3 the parts are copied server-side, not through the task (UploadPartCopy). */
  concatenate(target: string, parts: readonly string[]): Promise<void> {
    return this.inner.concatenate(target, parts);
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

function byteLengthOf(body: Uint8Array | string): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}
