/**
 * Resource names that the CDK stack (infra/config.ts) and the LocalStack tooling (lib/localstack) must agree on:
 * the stack creates the resources, the tooling provisions or checks the same ones. Both import them from here,
 * so neither imports the other (lib/ must not import aws-cdk-lib, and the stack should not depend on tooling).
 */

/**
 * Tag on every taggable resource of a LocalStack-mode stack, valued with the stack name: `localstack up
 * --provision cdk` refuses to deploy over same-named resources without it (provisioned directly, or by another
 * stack), because LocalStack's CloudFormation fails on existing queues and silently adopts an existing bucket.
 */
export const LOCALSTACK_STACK_TAG = 'pseudolabel:stack';

/** The bucket of LocalStack mode when none is given (the name `pseudolabel worker` expects). */
export const LOCALSTACK_BUCKET_NAME = 'pseudolabel-data';

/** Prefix of resource names by default: queues `<prefix>-events`, `-tasks`, `-reduce`, each with `-dlq`. */
export const DEFAULT_RESOURCE_PREFIX = 'pseudolabel';
