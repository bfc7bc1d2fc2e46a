import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Where users drop data files: `incoming/<dataset>/...` (and `incoming/<dataset>/pseudolabel.json`). */
export const INCOMING_PREFIX = 'incoming/';
/** Where runs live: `runs/<runId>/run.json`, `shards/`, `markers/`, `output/`. */
export const RUNS_PREFIX = 'runs/';
/** Dataset versions (lib/pipeline/datasets/datasetVersions.ts): written by finalize, read by retrain. */
export const DATASETS_PREFIX = 'datasets/';

/**
 * The object tag the pipeline puts on intermediate objects (runs/<runId>/shards/..., runs/<runId>/markers/...).
 * S3 lifecycle filters match a key prefix and tags, never a wildcard inside a key, so "everything under runs/
 * except runs/<runId>/output/" cannot be written as a prefix. The lifecycle rule therefore expires objects under
 * runs/ that carry this tag; output files and run.json are written without it and are kept.
 */
export const INTERMEDIATE_TAG = { key: 'pseudolabel:intermediate', value: 'true' } as const;

export interface DataBucketProps {
  /** Physical name; generated when absent. */
  readonly bucketName?: string;
  /** Age after which tagged intermediate objects under runs/ expire. */
  readonly intermediateExpiration: Duration;
  /** Age after which server access logs expire. */
  readonly accessLogExpiration: Duration;
  /** Delete the buckets with the stack (emptying them first where custom resources are allowed). */
  readonly destroyOnRemoval: boolean;
  /** False on LocalStack: autoDeleteObjects is a custom resource backed by a Lambda function. */
  readonly allowCustomResources: boolean;
}

/**
 * The pipeline's bucket: private, SSE-S3 encrypted, TLS-only, with server access logs in a second bucket and a
 * lifecycle rule that expires intermediate run objects.
 */
export class DataBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogsBucket: Bucket;

  constructor(scope: Construct, id: string, props: DataBucketProps) {
    super(scope, id);
    const removalPolicy = props.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const autoDeleteObjects = props.destroyOnRemoval && props.allowCustomResources;

    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // Server access logging can only deliver to SSE-S3 buckets.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: props.accessLogExpiration }],
      removalPolicy,
      autoDeleteObjects,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the destination of the data bucket server access logs; logging it too would need another ' +
        'log bucket without logging, so the chain has to end here.',
    });

    this.bucket = new Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        {
          id: 'ExpireIntermediateRunObjects',
          prefix: RUNS_PREFIX,
          tagFilters: { [INTERMEDIATE_TAG.key]: INTERMEDIATE_TAG.value },
          expiration: props.intermediateExpiration,
        },
        {
          id: 'AbortIncompleteMultipartUploads',
          abortIncompleteMultipartUploadAfter: Duration.days(2),
        },
      ],
      removalPolicy,
      autoDeleteObjects,
    });
  }
}
