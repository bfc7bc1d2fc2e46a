import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectInfo, ObjectStore } from './objectStore.ts';
import { S3Location } from './s3Location.ts';
import type { S3ObjectStore } from './s3ObjectStore.ts';

/**
 * An S3ObjectStore opened on first use: the AWS SDK modules cost every thread that loads them about 0.2 s of
 * start-up, and a local run (the embedded default, its CLI and worker threads) never needs them. Behaves as
 * the S3ObjectStore it opens, which it imports on the first call that reaches S3.
 */
export class DeferredS3Store implements ObjectStore {
  private readonly location: S3Location;
  private opened: Promise<S3ObjectStore> | undefined;

  constructor(
    private readonly options: { readonly bucket: string; readonly prefix?: string; readonly client?: S3Client },
  ) {
    this.location = new S3Location(options.bucket, options.prefix);
  }

  private store(): Promise<S3ObjectStore> {
    this.opened ??= import('./s3ObjectStore.ts').then(({ S3ObjectStore }) => new S3ObjectStore(this.options));
    return this.opened;
  }

  describe(key: string): string {
    return this.location.describe(key);
  }

  async get(key: string): Promise<Uint8Array> {
    return (await this.store()).get(key);
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    return (await this.store()).getRange(key, start, end);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.store()).head(key);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.store()).exists(key);
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    return (await this.store()).put(key, body);
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    return (await this.store()).putIfAbsent(key, body);
  }

  async putIfMatch(key: string, body: Uint8Array | string, etag: string): Promise<boolean> {
    return (await this.store()).putIfMatch(key, body, etag);
  }

  async concatenate(target: string, parts: readonly string[]): Promise<void> {
    return (await this.store()).concatenate(target, parts);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.store()).list(prefix);
  }

  async delete(key: string): Promise<void> {
    return (await this.store()).delete(key);
  }

  /** S3ObjectStore.checkBucket. */
  async checkBucket(): Promise<void> {
    return (await this.store()).checkBucket();
  }
}
