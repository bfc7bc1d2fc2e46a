import { describe, expect, it } from 'vitest';
import { createdObjects } from '../../lib/pipeline/datasets/s3Notifications.ts';

function record(eventName: string | undefined, key: string, bucket = 'pseudolabel-data') {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    ...(eventName === undefined ? {} : { eventName }),
    s3: { s3SchemaVersion: '1.0', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key, size: 10 } },
  };
}

describe('createdObjects', () => {
  it('lists the bucket and key of every created object', () => {
    // Prepare
    const body = JSON.stringify({
      Records: [
        record('ObjectCreated:Put', 'incoming/ds/a.csv'),
        record('ObjectCreated:CompleteMultipartUpload', 'incoming/ds/b.parquet', 'other'),
      ],
    });

    // Act
    const objects = createdObjects(body);

    // Assess
    expect(objects).toEqual([
      { bucket: 'pseudolabel-data', key: 'incoming/ds/a.csv' },
      { bucket: 'other', key: 'incoming/ds/b.parquet' },
    ]);
  });

  it("decodes URL-encoded keys, '+' as a space and %2B as a plus", () => {
    // Prepare
    const body = JSON.stringify({ Records: [record('ObjectCreated:Put', 'incoming/my+data/caf%C3%A9+%2B1%2Fx.csv')] });

    // Act
    const objects = createdObjects(body);

    // Assess
    expect(objects).toEqual([{ bucket: 'pseudolabel-data', key: 'incoming/my data/café +1/x.csv' }]);
  });

  it('the s3:TestEvent sent when notifications are configured yields no object', () => {
    // Prepare
    const body = JSON.stringify({
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2025-01-01T00:00:00.000Z',
      Bucket: 'pseudolabel-data',
      RequestId: 'X',
      HostId: 'Y',
    });

    // Act
    const objects = createdObjects(body);

    // Assess
    expect(objects).toEqual([]);
  });

  it('skips events other than ObjectCreated', () => {
    // Prepare
    const body = JSON.stringify({
      Records: [
        record('ObjectRemoved:Delete', 'incoming/ds/gone.csv'),
        record('ObjectCreated:Copy', 'incoming/ds/kept.csv'),
        record('ObjectRestore:Completed', 'incoming/ds/restored.csv'),
      ],
    });

    // Act
    const objects = createdObjects(body);

    // Assess
    expect(objects).toEqual([{ bucket: 'pseudolabel-data', key: 'incoming/ds/kept.csv' }]);
  });

  it('a record without an event name counts as created', () => {
    // Prepare
    const body = JSON.stringify({ Records: [record(undefined, 'incoming/ds/a.csv')] });

    // Act
    const objects = createdObjects(body);

    // Assess
    expect(objects).toEqual([{ bucket: 'pseudolabel-data', key: 'incoming/ds/a.csv' }]);
  });

  it.each([
    ['not JSON', 'hello'],
    ['a JSON array', '[1, 2]'],
    ['JSON null', 'null'],
    ['Records that are not a list', '{"Records": "x"}'],
    ['a record without s3', '{"Records": [{"eventName": "ObjectCreated:Put"}]}'],
    ['a record without a key', '{"Records": [{"s3": {"bucket": {"name": "b"}, "object": {}}}]}'],
  ])('throws on %s', (_, body) => {
    // Act + Assess
    expect(() => createdObjects(body)).toThrow();
  });

  it('throws on a JSON object that is no S3 notification (e.g. a task message sent to the wrong queue)', () => {
    // Prepare
    const body = JSON.stringify({ v: 1, runId: 'r', stage: 'plan', round: 0, shard: 0 });

    // Act + Assess
    expect(() => createdObjects(body)).toThrow();
  });
});
