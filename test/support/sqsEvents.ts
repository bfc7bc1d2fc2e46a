import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

/** One record as a test describes it; the rest is filled in as Lambda's SQS event source mapping fills it. */
export interface TestRecord {
  /** The message body: a string as it is, anything else as its JSON. */
  readonly body: unknown;
  /** ApproximateReceiveCount, this receive's number (default 1): a handler tells the last receive by it. */
  readonly receives?: number;
  /** Default `m-<index>`. */
  readonly messageId?: string;
  /** Default `r-<index>`. */
  readonly receiptHandle?: string;
  readonly messageAttributes?: SQSMessageAttributes;
}

/** The Lambda event of one batch of `queue` (its name: the ARN's last part), a record per entry. */
export function sqsEvent(records: readonly TestRecord[], queue = 'pseudolabel-tasks'): SQSEvent {
  return {
    Records: records.map(
      (record, i): SQSRecord => ({
        messageId: record.messageId ?? `m-${i}`,
        receiptHandle: record.receiptHandle ?? `r-${i}`,
        body: typeof record.body === 'string' ? record.body : JSON.stringify(record.body),
        attributes: {
          ApproximateReceiveCount: String(record.receives ?? 1),
          SentTimestamp: '0',
          SenderId: 's',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: record.messageAttributes ?? {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queue}`,
        awsRegion: 'us-east-1',
      }),
    ),
  };
}

/** The body S3 sends to the events queue when `key` is created in `bucket` (one ObjectCreated:Put record). */
export function objectCreatedBody(bucket: string, key: string, size = 10): string {
  return JSON.stringify({
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: bucket }, object: { key, size } },
      },
    ],
  });
}
