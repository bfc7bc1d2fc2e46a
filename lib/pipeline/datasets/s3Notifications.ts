import { z } from 'zod';

const s3EventSchema = z.object({
  Records: z
    .array(
      z.object({
        eventName: z.string().optional(),
        s3: z.object({ bucket: z.object({ name: z.string() }), object: z.object({ key: z.string() }) }),
      }),
    )
    .optional(),
  Event: z.string().optional(),
});

export interface CreatedObject {
  readonly bucket: string;
  readonly key: string;
}

/**
 * The objects an S3 event notification (as delivered in an SQS message body) reports as created. S3 URL-encodes
 * keys in notifications, spaces as '+'. The s3:TestEvent S3 sends when notifications are configured yields none.
 * Throws on a body that is not an S3 notification.
 */
export function createdObjects(body: string): CreatedObject[] {
  const parsed = s3EventSchema.parse(JSON.parse(body));
  if (parsed.Records === undefined) {
    if (parsed.Event === 's3:TestEvent') return [];
    throw new Error('not an S3 event notification');
  }
  return parsed.Records.filter(
    (record) => record.eventName === undefined || record.eventName.startsWith('ObjectCreated'),
  ).map((record) => ({
    bucket: record.s3.bucket.name,
    key: decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')),
  }));
}
