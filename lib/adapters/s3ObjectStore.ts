import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Client } from './awsClients.ts';
import { BucketNotFoundError, NotFoundError, StoreUnavailableError } from './errors.ts';
import type { ObjectInfo, ObjectStore } from './objectStore.ts';
import { S3Location } from './s3Location.ts';

/** Bodies larger than this go up as multipart uploads (lib-storage `Upload`), in parts of this size. */
export const MULTIPART_THRESHOLD = 8 * 1024 * 1024;
/** S3's smallest part of a multipart upload (all but the last part), and its largest copied part. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_COPY_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** S3 allows 10,000 parts per upload; part sizes grow past MIN_PART_SIZE to stay well below. */
const MAX_PARTS = 9_000;
/** How often a conditional put is retried when S3 answers 409 ConditionalRequestConflict. */
const CONFLICT_RETRIES = 5;

export interface S3ObjectStoreOptions {
  readonly bucket: string;
  /** Key prefix all keys of this store live under ('runs/a' and 'runs/a/' are the same). */
  readonly prefix?: string;
  /** Default: `createS3Client()` (endpoint and region from the environment). */
  readonly client?: S3Client;
  /**
   * Object tags for a key (e.g. the pipeline marks intermediate objects so a lifecycle rule expires them), or
   * undefined for none.
   */
  readonly tags?: (key: string) => Record<string, string> | undefined;
}

/**
 * ObjectStore over an S3 bucket (or LocalStack). Ranged reads use GetObject with `Range`; putIfAbsent is a
 * PutObject with `If-None-Match: *` (412 -> false; 409 ConditionalRequestConflict -> retried). ETags are S3's,
 * without quotes: the MD5 hex for single-part objects, opaque for multipart ones. Vendor errors are translated:
 * NoSuchKey/404 -> NotFoundError, NoSuchBucket -> BucketNotFoundError (a StoreUnavailableError), anything else
 * unexpected (network, access) -> StoreUnavailableError.
 */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly tags: S3ObjectStoreOptions['tags'];

  private readonly location: S3Location;

  constructor(options: S3ObjectStoreOptions) {
    this.location = new S3Location(options.bucket, options.prefix);
    this.bucket = this.location.bucket;
    this.prefix = this.location.prefix;
    this.client = options.client ?? createS3Client();
    this.tags = options.tags;
  }

  describe(key: string): string {
    return this.location.describe(key);
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      return await bodyBytes(response.Body);
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    checkRange(start, end);
    if (end <= start) {
      if ((await this.head(key)) === undefined) throw new NotFoundError(this.describe(key));
      return new Uint8Array(0);
    }
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Range: `bytes=${start}-${end - 1}` }),
      );
      return await bodyBytes(response.Body);
    } catch (error) {
      // 416: the range starts at or past the end of an existing object.
      if (errorName(error) === 'InvalidRange' || statusOf(error) === 416) return new Uint8Array(0);
      throw this.translate(error, key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      return { key, size: response.ContentLength ?? 0, etag: unquote(response.ETag) };
    } catch (error) {
      const translated = this.translate(error, key);
      if (translated instanceof NotFoundError) return undefined;
      throw translated;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  /** The Tagging header value (URL-encoded key=value pairs) for a key, or undefined. */
  private tagging(key: string): string | undefined {
    const tags = this.tags?.(key);
    if (!tags) return undefined;
    return new URLSearchParams(tags).toString();
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const bytes = toBytes(body);
    const tagging = this.tagging(key);
    const params = {
      Bucket: this.bucket,
      Key: this.fullKey(key),
      Body: bytes,
      ...(tagging ? { Tagging: tagging } : {}),
    };
    try {
      if (bytes.byteLength > MULTIPART_THRESHOLD) {
        const tags = Object.entries(this.tags?.(key) ?? {}).map(([Key, Value]) => ({ Key, Value }));
        await new Upload({ client: this.client, params, tags, partSize: MULTIPART_THRESHOLD, queueSize: 4 }).done();
      } else {
        await this.client.send(new PutObjectCommand(params));
      }
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const tagging = this.tagging(key);
    const input = {
      Bucket: this.bucket,
      Key: this.fullKey(key),
      Body: toBytes(body),
      IfNoneMatch: '*',
      ...(tagging ? { Tagging: tagging } : {}),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand(input));
        return true;
      } catch (error) {
        if (errorName(error) === 'PreconditionFailed' || statusOf(error) === 412) return false;
        const conflict = errorName(error) === 'ConditionalRequestConflict' || statusOf(error) === 409;
        if (!conflict || attempt >= CONFLICT_RETRIES) throw this.translate(error, key);
        await sleep(25 * 2 ** attempt);
      }
    }
  }

  /** PutObject with `If-Match: "<etag>"`: 412 (changed) and 404 (absent) -> false; 409 is retried. */
  async putIfMatch(key: string, body: Uint8Array | string, etag: string): Promise<boolean> {
    const tagging = this.tagging(key);
    const input = {
      Bucket: this.bucket,
      Key: this.fullKey(key),
      Body: toBytes(body),
      IfMatch: `"${etag}"`,
      ...(tagging ? { Tagging: tagging } : {}),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand(input));
        return true;
      } catch (error) {
        const name = errorName(error);
        const status = statusOf(error);
        if (name === 'PreconditionFailed' || status === 412) return false;
        if (name === 'NoSuchKey' || status === 404) return false;
        const conflict = name === 'ConditionalRequestConflict' || status === 409;
        if (!conflict || attempt >= CONFLICT_RETRIES) throw this.translate(error, key);
        await sleep(25 * 2 ** attempt);
      }
    }
  }

  /**
   * Small totals (up to MULTIPART_THRESHOLD) are read and put in one request. Larger ones are a multipart upload
   * whose parts are copied server-side (UploadPartCopy, ranges of up to 5 GiB) wherever a part is large enough;
   * parts smaller than S3's 5 MiB minimum are read and buffered together (with the head of the next part when
   * needed) until they make a part of at least that size, so the task holds at most about twice the part size.
   */
  async concatenate(target: string, parts: readonly string[]): Promise<void> {
    const sizes: number[] = [];
    for (const key of parts) {
      const info = await this.head(key);
      if (info === undefined) throw new NotFoundError(this.describe(key));
      sizes.push(info.size);
    }
    const total = sizes.reduce((sum, size) => sum + size, 0);
    if (total <= MULTIPART_THRESHOLD) {
      const whole = new Uint8Array(total);
      let at = 0;
      for (const key of parts) {
        const bytes = await this.get(key);
        whole.set(bytes, at);
        at += bytes.byteLength;
      }
      await this.put(target, whole);
      return;
    }
    const tagging = this.tagging(target);
    const Key = this.fullKey(target);
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ...(tagging ? { Tagging: tagging } : {}) }),
      );
      uploadId = created.UploadId;
      const upload = new PartUploader(this.client, this.bucket, Key, uploadId!);
      const partSize = Math.max(MIN_PART_SIZE, Math.ceil(total / MAX_PARTS));
      const pending: Uint8Array[] = [];
      let pendingSize = 0;
      const flush = async () => {
        await upload.bytes(concatBytes(pending, pendingSize));
        pending.length = 0;
        pendingSize = 0;
      };
      for (let p = 0; p < parts.length; p++) {
        const size = sizes[p];
        let offset = 0;
        if (pendingSize > 0) {
          offset = Math.min(size, partSize - pendingSize); // fill the buffered part up to the part size
          if (offset > 0) pending.push(await this.getRange(parts[p], 0, offset));
          pendingSize += offset;
          if (pendingSize >= partSize) await flush();
        }
        if (size - offset >= partSize) {
          // Whole ranges of at most 5 GiB, each at least the part size, copied server-side.
          const ranges = Math.ceil((size - offset) / MAX_COPY_PART_SIZE);
          const step = Math.ceil((size - offset) / ranges);
          for (let start = offset; start < size; start += step) {
            await upload.copy(`${this.bucket}/${this.fullKey(parts[p])}`, start, Math.min(size, start + step));
          }
        } else if (size - offset > 0) {
          pending.push(await this.getRange(parts[p], offset, size));
          pendingSize += size - offset;
        }
      }
      if (pendingSize > 0) await flush();
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: upload.completed },
        }),
      );
    } catch (error) {
      if (uploadId !== undefined) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }))
          .catch(() => {});
      }
      if (error instanceof NotFoundError) throw error;
      throw this.translate(error, target);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const strip = this.prefix === '' ? 0 : this.prefix.length + 1;
    const result: ObjectInfo[] = [];
    try {
      const pages = paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.bucket, Prefix: this.fullKey(prefix) },
      );
      for await (const page of pages) {
        for (const item of page.Contents ?? []) {
          if (item.Key === undefined) continue;
          result.push({ key: item.Key.slice(strip), size: item.Size ?? 0, etag: unquote(item.ETag) });
        }
      }
    } catch (error) {
      throw this.translate(error, prefix);
    }
    return result;
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
    } catch (error) {
      const translated = this.translate(error, key);
      if (!(translated instanceof NotFoundError)) throw translated;
    }
  }

  /**
   * Checks that the bucket exists and can be listed under this store's prefix (one ListObjectsV2 of at most one
   * key), so a run can refuse a wrong location before working. Throws BucketNotFoundError or StoreUnavailableError.
   */
  async checkBucket(): Promise<void> {
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.fullKey(''), MaxKeys: 1 }));
    } catch (error) {
      throw this.translate(error, '');
    }
  }

  private fullKey(key: string): string {
    return this.location.fullKey(key);
  }

  /** Maps an SDK error to NotFoundError (missing object) or StoreUnavailableError (everything else). */
  private translate(error: unknown, key: string): Error {
    const name = errorName(error);
    if (name === 'NoSuchBucket') return new BucketNotFoundError(this.bucket, error);
    if (name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404) {
      return new NotFoundError(this.describe(key));
    }
    return new StoreUnavailableError(this.describe(key), error);
  }
}

/** The parts of one multipart upload, numbered from 1 in the order they are added. */
class PartUploader {
  readonly completed: { PartNumber: number; ETag: string }[] = [];

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly uploadId: string,
  ) {}

  async bytes(body: Uint8Array): Promise<void> {
    const PartNumber = this.completed.length + 1;
    const response = await this.client.send(
      new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber, Body: body }),
    );
    this.completed.push({ PartNumber, ETag: response.ETag ?? '' });
  }

  /** Bytes [start, end) of an object (`bucket/key`), copied server-side. */
  async copy(source: string, start: number, end: number): Promise<void> {
    const PartNumber = this.completed.length + 1;
    const response = await this.client.send(
      new UploadPartCopyCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber,
        CopySource: source.split('/').map(encodeURIComponent).join('/'),
        CopySourceRange: `bytes=${start}-${end - 1}`,
      }),
    );
    this.completed.push({ PartNumber, ETag: response.CopyPartResult?.ETag ?? '' });
  }
}

function concatBytes(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

function toBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? new TextEncoder().encode(body) : body;
}

async function bodyBytes(body: { transformToByteArray(): Promise<Uint8Array> } | undefined): Promise<Uint8Array> {
  return body === undefined ? new Uint8Array(0) : await body.transformToByteArray();
}

function checkRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`range start must be an integer >= 0: ${start}`);
  if (!Number.isSafeInteger(end) || end < 0) throw new RangeError(`range end must be an integer >= 0: ${end}`);
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function statusOf(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
