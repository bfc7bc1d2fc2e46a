/** A CDK context value (cdk.json or `-c key=value`) that is not usable. Names the key, the rule and the value. */
export class ContextValueError extends Error {
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly value: unknown,
  ) {
    super(`context "${key}" must be ${expected}, got ${JSON.stringify(value)}`);
    this.name = 'ContextValueError';
  }
}

/** The S3 notification set on the L1 CfnBucket (LocalStack mode) needs the bucket's physical name. */
export class BucketNameRequiredError extends Error {
  constructor() {
    super('a bucket notification without custom resources needs a bucket with a physical bucketName');
    this.name = 'BucketNameRequiredError';
  }
}
