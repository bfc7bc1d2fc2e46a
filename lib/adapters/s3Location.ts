/**
 * Where a store's keys live in S3, without the AWS SDK (DeferredS3Store uses it before the SDK is loaded):
 * a bucket and a key prefix ('runs/a', '/runs/a/' and 'runs/a/' are the same).
 */
export class S3Location {
  readonly bucket: string;
  readonly prefix: string;

  constructor(bucket: string, prefix = '') {
    if (!bucket) throw new RangeError('S3ObjectStore needs a bucket name');
    this.bucket = bucket;
    this.prefix = prefix.replace(/^\/+|\/+$/g, '');
  }

  /** The S3 key of a store key. */
  fullKey(key: string): string {
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  /** `s3://bucket/prefix/key`, for messages. */
  describe(key: string): string {
    return `s3://${this.bucket}/${this.fullKey(key)}`;
  }
}
