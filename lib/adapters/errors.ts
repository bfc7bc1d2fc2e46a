/** An object that does not exist (S3 NoSuchKey / 404, ENOENT on the filesystem). */
export class NotFoundError extends Error {
  constructor(readonly location: string) {
    super(`object not found: ${location}`);
    this.name = 'NotFoundError';
  }
}

/** The object store could not be reached or refused the request. */
export class StoreUnavailableError extends Error {
  constructor(
    readonly location: string,
    cause: unknown,
  ) {
    super(`object store unavailable at ${location}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'StoreUnavailableError';
  }
}

/** An S3 bucket that does not exist (S3 NoSuchBucket). A StoreUnavailableError, with a message naming the bucket. */
export class BucketNotFoundError extends StoreUnavailableError {
  constructor(
    readonly bucket: string,
    cause: unknown,
  ) {
    super(`s3://${bucket}`, cause);
    this.message = `bucket does not exist: s3://${bucket}`;
    this.name = 'BucketNotFoundError';
  }
}
