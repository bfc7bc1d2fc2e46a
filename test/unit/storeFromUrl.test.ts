import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeferredS3Store } from '../../lib/adapters/deferredS3Store.ts';
import { FilesystemObjectStore } from '../../lib/adapters/filesystemObjectStore.ts';
import { storeFromUrl } from '../../lib/adapters/storeFromUrl.ts';

describe('storeFromUrl', () => {
  it('opens s3://bucket/prefix as an S3 store under that prefix', () => {
    // Act
    const store = storeFromUrl('s3://pseudolabel-data/runs/r1/');

    // Assess
    expect(store).toBeInstanceOf(DeferredS3Store);
    expect(store.describe('run.json')).toBe('s3://pseudolabel-data/runs/r1/run.json');
  });

  it('opens s3://bucket as the whole bucket', () => {
    expect(storeFromUrl('s3://bucket').describe('k')).toBe('s3://bucket/k');
  });

  it('opens a path or file:// URL as a filesystem store, relative paths from the working directory', () => {
    // Act
    const relative = storeFromUrl('out/x');
    const url = storeFromUrl('file:///tmp/pl');

    // Assess
    expect(relative).toBeInstanceOf(FilesystemObjectStore);
    expect(relative.describe('k')).toBe(path.resolve('out/x', 'k'));
    expect(url.describe('k')).toBe(path.join('/tmp/pl', 'k'));
  });

  it.each(['https://example.com/data', 's3://', ''])('refuses %j', (location) => {
    expect(() => storeFromUrl(location)).toThrow(RangeError);
  });
});
