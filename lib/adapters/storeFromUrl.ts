import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { DeferredS3Store } from './deferredS3Store.ts';
import { FilesystemObjectStore } from './filesystemObjectStore.ts';
import type { ObjectStore } from './objectStore.ts';

export interface StoreFromUrlOptions {
  /** S3 client for `s3://` locations; default `createS3Client()`. */
  readonly s3Client?: S3Client;
}

/**
 * The ObjectStore for a location: `s3://bucket[/prefix]` -> S3ObjectStore (opened on first use: DeferredS3Store);
 * `file:///dir` or a plain path (relative to the working directory) -> FilesystemObjectStore. Other URL schemes
 * are refused.
 */
export function storeFromUrl(location: string, options: StoreFromUrlOptions = {}): ObjectStore {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (s3) return new DeferredS3Store({ bucket: s3[1], prefix: s3[2], client: options.s3Client });
  if (location.startsWith('s3://')) throw new RangeError(`an s3 location needs a bucket: ${location}`);
  if (location.startsWith('file://')) return new FilesystemObjectStore(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(location)) throw new RangeError(`unsupported store location: ${location}`);
  if (location === '') throw new RangeError('a store location must not be empty');
  return new FilesystemObjectStore(location);
}
