import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { DeferredS3Store } from '../../adapters/deferredS3Store.ts';
import { BucketNotFoundError } from '../../adapters/errors.ts';
import { FilesystemObjectStore } from '../../adapters/filesystemObjectStore.ts';
import { InputFileError } from '../../data/errors.ts';
import { formatOf, KNOWN_INPUTS as KNOWN, listInputFiles } from '../../data/inputFiles.ts';
import { OPTIONS_FILE } from '../../pipeline/datasets/datasetRuns.ts';
import type { RunInput } from '../../pipeline/shards/shardPlan.ts';

/**
 * Where `pseudolabel run` reads its input and writes its output: a local file or directory, or an S3 location
 * (`s3://bucket/key` or `s3://bucket/prefix`). S3 connections take endpoint, region and credentials from the usual
 * AWS environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, ...), as every S3 client of the project does.
 */

/** The inputs of a run and the root they are keys of (a directory, or `s3://bucket[/prefix]`). */
export interface RunInputs {
  readonly root: string;
  readonly inputs: RunInput[];
}

/** Bucket and key (or prefix, possibly empty) of an `s3://` location, or undefined for anything else. */
export function parseS3Location(location: string): { bucket: string; path: string } | undefined {
  if (!location.startsWith('s3://')) return undefined;
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!match) throw new RangeError(`an s3 location needs a bucket: ${location}`);
  return { bucket: match[1], path: match[2] };
}

/**
 * The input files of a run. A local file or directory: as `listInputFiles` picks them (a directory gives its data
 * files, not recursively, hidden names left out, sorted by name). An S3 location: the object itself when the key
 * exists, else the data objects directly under the prefix, picked the same way as a directory's files (so
 * pseudolabel.json beside the data is left out). Keys are relative to the root, as a directory's file names are,
 * so ids and labels do not depend on where the data lives. A missing file, key, prefix or bucket is an
 * InputFileError naming the location.
 */
export async function resolveRunInputs(input: string): Promise<RunInputs> {
  const s3 = parseS3Location(input);
  return s3 ? await s3Inputs(input, s3.bucket, s3.path) : await localInputs(input);
}

async function localInputs(input: string): Promise<RunInputs> {
  const files = await listInputFiles(input);
  const paths = files.map((file) => resolve(file.path));
  const root = files.length === 1 ? dirname(paths[0]) : resolve(input);
  const inputs: RunInput[] = [];
  for (const path of paths) {
    const info = await stat(path);
    inputs.push({ key: relative(root, path), size: info.size, etag: weakEtag(info.size, info.mtimeMs) });
  }
  return { root, inputs };
}

/**
 * A local file's version stamp: a weak ETag from its size and modification time, as web servers give for
 * files (nginx: W/"mtime-size"). An MD5 like the store's would read the whole input once more before the run
 * starts (1.5 s for a 490 MB CSV).
 */
function weakEtag(size: number, mtimeMs: number): string {
  return `W/"${Math.floor(mtimeMs).toString(16)}-${size.toString(16)}"`;
}

async function s3Inputs(location: string, bucket: string, path: string): Promise<RunInputs> {
  const store = new DeferredS3Store({ bucket });
  try {
    if (path !== '' && !path.endsWith('/')) {
      const info = await store.head(path);
      if (info) {
        if (!formatOf(path)) throw new InputFileError(location, `unknown format: expected a ${KNOWN} file`);
        const slash = path.lastIndexOf('/');
        return {
          root: rootOf(bucket, path.slice(0, slash + 1)),
          inputs: [{ key: path.slice(slash + 1), size: info.size, etag: info.etag }],
        };
      }
    }
    const prefix = path === '' || path.endsWith('/') ? path : `${path}/`;
    const listed = await store.list(prefix);
    if (listed.length === 0) throw new InputFileError(location, 'no such key or prefix');
    const inputs = listed
      .map(({ key, size, etag }) => ({ key: key.slice(prefix.length), size, etag }))
      .filter(({ key }) => isDataName(key))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (inputs.length === 0) throw new InputFileError(location, `the prefix holds no ${KNOWN} object`);
    return { root: rootOf(bucket, prefix), inputs };
  } catch (error) {
    if (error instanceof BucketNotFoundError) {
      throw new InputFileError(location, `bucket ${bucket} does not exist`, { cause: error });
    }
    throw error;
  }
}

/** A data object directly under the prefix, as a directory's data file: not nested, not hidden, known format. */
function isDataName(name: string): boolean {
  return !name.includes('/') && !name.startsWith('.') && name !== OPTIONS_FILE && formatOf(name) !== undefined;
}

function rootOf(bucket: string, prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? `s3://${bucket}` : `s3://${bucket}/${trimmed}`;
}

/** Where the output files of a run go: a local directory, or an S3 prefix. */
export interface OutputTarget {
  /** The location as given (for messages). */
  readonly location: string;
  /**
   * Refuses, before any work, a location that cannot take the outputs: a missing bucket; a local path that is a
   * file, is the input, or cannot be written. Then removes the output files an earlier run left there
   * (OUTPUT_FILES), so that the folder never mixes two runs' files; other files are left alone.
   */
  prepare(input: string): Promise<void>;
  /** Removes the output files (OUTPUT_FILES) there, best effort: after a failed write, no half set is left. */
  clear(): Promise<void>;
  /** Writes one output file whole or not at all (a temporary name, then a rename; S3 objects are so by nature). */
  write(name: string, body: Uint8Array): Promise<void>;
  read(name: string): Promise<Uint8Array>;
}

/** The files a run writes to --out (DESIGN.md section 3, "Output"); stale ones are removed before a run. */
export const OUTPUT_FILES = ['labels.csv', 'labels.parquet', 'report.json', 'report.html', 'rejected.csv'] as const;

/** Could not write the output files to --out. */
export class OutputLocationError extends Error {
  constructor(
    readonly location: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot write output to ${location}: ${reason}`, options);
    this.name = 'OutputLocationError';
  }
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function outputTarget(out: string): OutputTarget {
  const s3 = parseS3Location(out);
  if (!s3) return localOutput(out);
  const store = new DeferredS3Store({ bucket: s3.bucket, prefix: s3.path });
  const failed = (error: unknown): Error =>
    error instanceof BucketNotFoundError
      ? new OutputLocationError(out, `bucket ${s3.bucket} does not exist`, { cause: error })
      : new OutputLocationError(out, reasonOf(error), { cause: error });
  return {
    location: out,
    prepare: async () => {
      try {
        await store.checkBucket();
        await Promise.all(OUTPUT_FILES.map((name) => store.delete(name)));
      } catch (error) {
        throw failed(error);
      }
    },
    clear: async () => {
      await Promise.all(OUTPUT_FILES.map((name) => store.delete(name).catch(() => {})));
    },
    write: (name, body) => store.put(name, body).catch((error: unknown) => Promise.reject(failed(error))),
    read: (name) => store.get(name),
  };
}

function localOutput(out: string): OutputTarget {
  const dir = resolve(out);
  return {
    location: out,
    prepare: async (input) => {
      const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw new OutputLocationError(out, reasonOf(error), { cause: error });
      });
      if (info && !info.isDirectory()) throw new OutputLocationError(out, 'it is a file, not a directory');
      // The outputs must not land in the input: they would be read as input by the next run.
      if (!parseS3Location(input) && dir === resolve(input)) {
        throw new OutputLocationError(out, 'it is the input; give another directory');
      }
      const probe = join(dir, `.pseudolabel-probe-${process.pid}`);
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(probe, '');
        await rm(probe, { force: true });
        await Promise.all(OUTPUT_FILES.map((name) => rm(join(dir, name), { force: true })));
        // Made only to prove it can be: a run that ends without outputs leaves no empty directory behind.
        if (!info) await rmdir(dir);
      } catch (error) {
        throw new OutputLocationError(out, `it cannot be written: ${reasonOf(error)}`, { cause: error });
      }
    },
    clear: async () => {
      await Promise.all(OUTPUT_FILES.map((name) => rm(join(dir, name), { force: true }).catch(() => {})));
    },
    write: async (name, body) => {
      const target = join(dir, name);
      const staged = join(dir, `.${name}.${randomUUID()}.tmp`);
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(staged, body);
        await rename(staged, target);
      } catch (error) {
        await rm(staged, { force: true });
        throw new OutputLocationError(join(out, name), reasonOf(error), { cause: error });
      }
    },
    read: (name) => new FilesystemObjectStore(out).get(name),
  };
}
