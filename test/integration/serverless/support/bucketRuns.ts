import { randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RunRecord, RunStatus } from '../../../../lib/pipeline/run/runRecord.ts';
import { sleep } from './workerProcess.ts';

/**
 * What a user of the serverless path does and sees, through the AWS SDK only: drop files under
 * incoming/<dataset>/, find the run S3 started for the dataset, wait for its run.json to end, read its output.
 */

/** A dataset name nobody used before: run ids of S3-triggered runs derive from the dataset's files. */
export function uniqueDataset(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

export async function putText(s3: S3Client, bucket: string, key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** An object as text, or undefined when it does not exist. */
export async function getText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await response.Body!.transformToString('utf8');
  } catch (error) {
    if (error instanceof NoSuchKey) return undefined;
    throw error;
  }
}

/** Every key under a prefix (all pages). */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) found.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}

/**
 * Drops a dataset as a user would: first incoming/<dataset>/pseudolabel.json with the options, then the data
 * files all at once (parallel PUTs).
 */
export async function uploadDataset(
  s3: S3Client,
  bucket: string,
  dataset: string,
  files: Readonly<Record<string, string>>,
  options: Record<string, unknown>,
): Promise<void> {
  await putText(s3, bucket, `incoming/${dataset}/pseudolabel.json`, JSON.stringify(options));
  await Promise.all(
    Object.entries(files).map(([name, text]) => putText(s3, bucket, `incoming/${dataset}/${name}`, text)),
  );
}

/** run.json of every run of the dataset found under runs/. */
export async function runsOfDataset(s3: S3Client, bucket: string, dataset: string): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  for (const key of await listKeys(s3, bucket, 'runs/')) {
    if (!/^runs\/[^/]+\/run\.json$/.test(key)) continue;
    const text = await getText(s3, bucket, key);
    if (text === undefined) continue;
    const record = JSON.parse(text) as RunRecord;
    if (record.dataset === dataset) records.push(record);
  }
  return records;
}

/** Polls runs/ until a run of the dataset appears; returns its id. */
export async function waitForRunOf(s3: S3Client, bucket: string, dataset: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [run] = await runsOfDataset(s3, bucket, dataset);
    if (run) return run.runId;
    if (Date.now() > deadline) throw new Error(`no run of dataset ${dataset} appeared within ${timeoutMs} ms`);
    await sleep(250);
  }
}

export async function readRunJson(s3: S3Client, bucket: string, runId: string): Promise<RunRecord | undefined> {
  const text = await getText(s3, bucket, `runs/${runId}/run.json`);
  return text === undefined ? undefined : (JSON.parse(text) as RunRecord);
}

/** Polls run.json until the run has ended (succeeded or failed) or `until` holds; returns the record. */
export async function waitForRun(
  s3: S3Client,
  bucket: string,
  runId: string,
  timeoutMs = 90_000,
  until: (record: RunRecord) => boolean = (record) => ended(record.status),
): Promise<RunRecord> {
  const deadline = Date.now() + timeoutMs;
  let last: RunRecord | undefined;
  for (;;) {
    last = await readRunJson(s3, bucket, runId);
    if (last && until(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`run ${runId} did not get there within ${timeoutMs} ms; run.json: ${JSON.stringify(last)}`);
    }
    await sleep(250);
  }
}

function ended(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

/** The output files of a run in the bucket. */
export async function runOutput(s3: S3Client, bucket: string, runId: string) {
  const read = (file: string) => getText(s3, bucket, `runs/${runId}/output/${file}`);
  const reportText = await read('report.json');
  return {
    labels: await read('labels.csv'),
    report: reportText === undefined ? undefined : (JSON.parse(reportText) as Record<string, unknown>),
    rejected: await read('rejected.csv'),
  };
}

/** Completion markers of a shard stage's round: runs/<runId>/markers/<stage>/<round>/. */
export async function markersOf(s3: S3Client, bucket: string, runId: string, stage: string, round = 0) {
  return listKeys(s3, bucket, `runs/${runId}/markers/${stage}/${round}/`);
}
