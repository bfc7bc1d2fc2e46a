/**
 * Where a run's blobs live: an S3 bucket, or a directory in embedded mode. Shaped after S3's semantics
 * (keys are '/'-separated strings, conditional create, ranged reads), so every stage behaves the same on both.
 */
export interface ObjectStore {
  /** Reads a whole object. Throws NotFoundError when absent. */
  get(key: string): Promise<Uint8Array>;
  /** Reads bytes [start, end) of an object (end clipped to its size). Throws NotFoundError when absent. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array>;
  /** Size and entity tag of an object, or undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Whether an object exists: a head without the entity tag (which a file store computes by reading the file). */
  exists(key: string): Promise<boolean>;
  /** Writes (or overwrites) an object. */
  put(key: string, body: Uint8Array | string): Promise<void>;
  /**
   * Creates an object only if no object has the key (S3 `If-None-Match: *`).
   * Returns true when this call created it, false when it already existed.
   */
  putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean>;
  /**
   * Replaces an object only if its entity tag is still `etag` (S3 `If-Match`): a compare-and-swap, so of any
   * number of callers that read the same version and swap it, exactly one wins. Returns true when this call
   * replaced it, false when the object changed meanwhile or is absent.
   */
  putIfMatch(key: string, body: Uint8Array | string, etag: string): Promise<boolean>;
  /**
   * Writes (or overwrites) `target` with the bytes of `parts` one after the other, in order (an empty list gives
   * an empty object); the parts stay. The bytes never pass through the caller's memory all at once: a file
   * store streams them, S3 assembles them server-side (multipart upload with UploadPartCopy), so an output can
   * be assembled from per-shard parts by a task whose memory does not grow with the output. Throws
   * NotFoundError when a part is absent.
   */
  concatenate(target: string, parts: readonly string[]): Promise<void>;
  /** Keys under a prefix, in lexicographic order, with sizes and tags. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes an object; deleting an absent object is not an error. */
  delete(key: string): Promise<void>;
  /** A human-readable location for messages, e.g. `s3://bucket/key` or a file path. */
  describe(key: string): string;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
}
