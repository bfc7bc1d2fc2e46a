import type { BucketSettings, LifecycleRule, LifecycleRuleFilter, Tag } from '../adapters/awsResources.ts';
import { UnsupportedTemplateValueError } from './errors.ts';

/**
 * LocalStack 4.14's CloudFormation provider for AWS::S3::Bucket creates the bucket and then applies only
 * NotificationConfiguration, VersioningConfiguration, CorsConfiguration, ObjectLockConfiguration, Tags and
 * WebsiteConfiguration. It drops LifecycleConfiguration, LoggingConfiguration, BucketEncryption,
 * PublicAccessBlockConfiguration and OwnershipControls without an error, and it cannot update a bucket at all (it
 * logs `the update operation is not implemented for this resource` and reports UPDATE_COMPLETE). Its S3 API takes
 * all five, so after `cdklocal deploy` these settings are read from the deployed template and set through the API
 * (applyBucketSettings, lib/adapters/awsResources.ts).
 */
export type { BucketSettings } from '../adapters/awsResources.ts';

/** The parts of a synthesized CloudFormation template read here. */
export interface CfnTemplate {
  readonly Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  readonly Outputs?: Record<string, { Value?: unknown }>;
}

/**
 * Physical names of the template's buckets: a literal BucketName, or the deployed value of an output whose value is
 * `{Ref: <bucket>}` (the stack outputs BucketName and AccessLogsBucketName for that).
 */
export function physicalBucketNames(
  template: CfnTemplate,
  deployedOutputs: Readonly<Record<string, string>>,
): Record<string, string> {
  const names: Record<string, string> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const literal = resource.Properties?.BucketName;
    if (resource.Type === 'AWS::S3::Bucket' && typeof literal === 'string') names[logicalId] = literal;
  }
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    const ref = (output.Value as { Ref?: unknown } | undefined)?.Ref;
    if (typeof ref !== 'string' || template.Resources?.[ref]?.Type !== 'AWS::S3::Bucket') continue;
    const deployed = deployedOutputs[key];
    if (deployed !== undefined) names[ref] = deployed;
  }
  return names;
}

/** The settings LocalStack's bucket provider drops, for every bucket of the template, as S3 API shapes. */
export function bucketSettingsFromTemplate(
  template: CfnTemplate,
  physicalNames: Readonly<Record<string, string>>,
): BucketSettings[] {
  const settings: BucketSettings[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::S3::Bucket') continue;
    const bucket = physicalNames[logicalId];
    if (bucket === undefined) throw new UnsupportedTemplateValueError(`${logicalId}`, 'a bucket without a known name');
    const props = new Reader(resource.Properties ?? {}, logicalId, physicalNames);
    settings.push({
      logicalId,
      bucket,
      lifecycleRules: props.optional('LifecycleConfiguration', (c) => c.list('Rules', lifecycleRule)),
      logging: props.optional('LoggingConfiguration', (c) => ({
        targetBucket: c.string('DestinationBucketName'),
        targetPrefix: c.optionalString('LogFilePrefix') ?? '',
      })),
      encryptionRules: props.optional('BucketEncryption', (c) =>
        c.list('ServerSideEncryptionConfiguration', (rule) => ({
          ApplyServerSideEncryptionByDefault: rule.optional('ServerSideEncryptionByDefault', (d) => ({
            SSEAlgorithm: d.string('SSEAlgorithm') as 'AES256',
            KMSMasterKeyID: d.optionalString('KMSMasterKeyID'),
          })),
          BucketKeyEnabled: rule.optionalBoolean('BucketKeyEnabled'),
        })),
      ),
      publicAccessBlock: props.optional('PublicAccessBlockConfiguration', (c) => ({
        BlockPublicAcls: c.optionalBoolean('BlockPublicAcls'),
        IgnorePublicAcls: c.optionalBoolean('IgnorePublicAcls'),
        BlockPublicPolicy: c.optionalBoolean('BlockPublicPolicy'),
        RestrictPublicBuckets: c.optionalBoolean('RestrictPublicBuckets'),
      })),
      ownershipRules: props.optional('OwnershipControls', (c) =>
        c.list('Rules', (rule) => ({ ObjectOwnership: rule.string('ObjectOwnership') as 'BucketOwnerEnforced' })),
      ),
    });
  }
  return settings;
}

const LIFECYCLE_KEYS = new Set([
  'Id',
  'Status',
  'Prefix',
  'TagFilters',
  'ExpirationInDays',
  'ExpiredObjectDeleteMarker',
  'AbortIncompleteMultipartUpload',
  'NoncurrentVersionExpirationInDays',
  'ObjectSizeGreaterThan',
  'ObjectSizeLessThan',
]);

/** A CloudFormation lifecycle rule (flat: Prefix, TagFilters, ExpirationInDays) as the API's (Filter, Expiration). */
function lifecycleRule(rule: Reader): LifecycleRule {
  rule.onlyKeys(LIFECYCLE_KEYS);
  const prefix = rule.optionalString('Prefix');
  const tags: Tag[] = rule.optional('TagFilters', (r) => r.list('', tagFilter)) ?? [];
  const greater = rule.optionalNumber('ObjectSizeGreaterThan');
  const less = rule.optionalNumber('ObjectSizeLessThan');
  const conditions =
    (prefix === undefined ? 0 : 1) + tags.length + (greater === undefined ? 0 : 1) + (less === undefined ? 0 : 1);
  let filter: LifecycleRuleFilter;
  if (conditions > 1) {
    filter = {
      And: {
        Prefix: prefix,
        Tags: tags.length > 0 ? tags : undefined,
        ObjectSizeGreaterThan: greater,
        ObjectSizeLessThan: less,
      },
    };
  } else if (tags.length === 1) {
    filter = { Tag: tags[0] };
  } else if (greater !== undefined) {
    filter = { ObjectSizeGreaterThan: greater };
  } else if (less !== undefined) {
    filter = { ObjectSizeLessThan: less };
  } else {
    filter = { Prefix: prefix ?? '' };
  }
  const days = rule.optionalNumber('ExpirationInDays');
  const deleteMarker = rule.optionalBoolean('ExpiredObjectDeleteMarker');
  const noncurrentDays = rule.optionalNumber('NoncurrentVersionExpirationInDays');
  const abortDays = rule.optional('AbortIncompleteMultipartUpload', (a) => a.number('DaysAfterInitiation'));
  return {
    ID: rule.optionalString('Id'),
    Status: rule.string('Status') as 'Enabled' | 'Disabled',
    Filter: filter,
    ...(days !== undefined || deleteMarker !== undefined
      ? { Expiration: { Days: days, ExpiredObjectDeleteMarker: deleteMarker } }
      : {}),
    ...(noncurrentDays === undefined ? {} : { NoncurrentVersionExpiration: { NoncurrentDays: noncurrentDays } }),
    ...(abortDays === undefined ? {} : { AbortIncompleteMultipartUpload: { DaysAfterInitiation: abortDays } }),
  };
}

function tagFilter(tag: Reader): Tag {
  return { Key: tag.string('Key'), Value: tag.string('Value') };
}

/**
 * Typed reads of template properties at a path (for error messages). Values must be literals, or a `Ref` to a bucket
 * of known physical name; anything else (other intrinsics, unknown lifecycle keys) throws UnsupportedTemplateValueError.
 */
class Reader {
  constructor(
    private readonly value: unknown,
    private readonly path: string,
    private readonly physicalNames: Readonly<Record<string, string>>,
  ) {}

  private at(key: string): { value: unknown; path: string } {
    if (key === '') return { value: this.value, path: this.path };
    const value = (this.value as Record<string, unknown> | undefined)?.[key];
    return { value: this.resolve(value), path: `${this.path}.${key}` };
  }

  private resolve(value: unknown): unknown {
    if (value !== null && typeof value === 'object' && 'Ref' in value) {
      const ref = (value as { Ref: unknown }).Ref;
      if (typeof ref === 'string' && this.physicalNames[ref] !== undefined) return this.physicalNames[ref];
    }
    return value;
  }

  onlyKeys(allowed: ReadonlySet<string>): void {
    for (const key of Object.keys((this.value as Record<string, unknown>) ?? {})) {
      if (!allowed.has(key)) throw new UnsupportedTemplateValueError(`${this.path}.${key}`, 'a supported property');
    }
  }

  optional<T>(key: string, read: (child: Reader) => T): T | undefined {
    const { value, path } = this.at(key);
    return value === undefined ? undefined : read(new Reader(value, path, this.physicalNames));
  }

  list<T>(key: string, read: (item: Reader) => T): T[] {
    const { value, path } = this.at(key);
    if (!Array.isArray(value)) throw new UnsupportedTemplateValueError(path, 'a list');
    return value.map((item, i) => read(new Reader(this.resolve(item), `${path}[${i}]`, this.physicalNames)));
  }

  string(key: string): string {
    const { value, path } = this.at(key);
    if (typeof value !== 'string') throw new UnsupportedTemplateValueError(path, 'a string');
    return value;
  }

  optionalString(key: string): string | undefined {
    return this.at(key).value === undefined ? undefined : this.string(key);
  }

  number(key: string): number {
    const { value, path } = this.at(key);
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new UnsupportedTemplateValueError(path, 'a number');
    return n;
  }

  optionalNumber(key: string): number | undefined {
    return this.at(key).value === undefined ? undefined : this.number(key);
  }

  optionalBoolean(key: string): boolean | undefined {
    const { value, path } = this.at(key);
    if (value === undefined) return undefined;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new UnsupportedTemplateValueError(path, 'true or false');
  }
}
