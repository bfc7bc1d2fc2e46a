import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompressStream, inflateHead } from '../../lib/data/decompress.ts';
import { compressionOf, formatOf } from '../../lib/data/inputFiles.ts';
import { chunksOf, drain } from '../support/byteStreams.ts';

const text = Array.from({ length: 5000 }, (_, i) => `row-${i},${i % 3},${(i * 7) % 101}`).join('\n');

describe('compressed file names', () => {
  it('knows CSV and JSON Lines with .gz or .zst, not compressed Parquet', () => {
    expect(['a.csv.gz', 'b.JSONL.GZ', 'c.ndjson.zst', 'd.csv'].map(formatOf)).toEqual(['csv', 'jsonl', 'jsonl', 'csv']);
    expect(['a.csv.gz', 'c.ndjson.zst', 'd.csv'].map(compressionOf)).toEqual(['gzip', 'zstd', undefined]);
    expect(formatOf('e.parquet.gz')).toBeUndefined();
    expect(formatOf('f.gz')).toBeUndefined();
  });
});

describe('decompressStream', () => {
  it('gives the bytes of a gzip stream cut anywhere, members concatenated included', async () => {
    // Prepare
    const half = text.length >> 1;
    const gz = Buffer.concat([gzipSync(text.slice(0, half)), gzipSync(text.slice(half))]);
    // Act
    const out = await drain(decompressStream(chunksOf(gz, [1, 7, 500, 4000]), 'gzip', 'x.csv.gz'));
    // Assess
    expect(Buffer.concat(out).toString()).toBe(text);
  });

  it.each([
    ['truncated', (gz: Buffer) => gz.subarray(0, gz.length - 20)],
    ['not gzip', () => Buffer.from('plain text, not compressed')],
  ])('refuses %s data with an InputFileError naming the file', async (_case, damage) => {
    // Prepare
    const gz = damage(gzipSync(text));
    // Act
    const reading = drain(decompressStream(chunksOf(gz, [100]), 'gzip', 'bad.csv.gz'));
    // Assess
    await expect(reading).rejects.toMatchObject({ name: 'InputFileError', file: 'bad.csv.gz' });
    await expect(reading).rejects.toThrow(/is not valid gzip data/);
  });

  it('passes an error of the source on as it is', async () => {
    // Prepare
    async function* failing() {
      yield gzipSync(text).subarray(0, 50);
      throw new Error('network down');
    }
    // Act, Assess
    await expect(drain(decompressStream(failing(), 'gzip', 'x.csv.gz'))).rejects.toThrow('network down');
  });
});

describe('inflateHead', () => {
  it('inflates the start of a file without an error for the cut, and the whole of a short one', async () => {
    // Prepare
    const gz = gzipSync(text);
    // Act
    const cut = await inflateHead(gz.subarray(0, gz.length >> 1), gz.length, 'gzip', 'x.csv.gz', 1 << 20);
    const whole = await inflateHead(gz, gz.length, 'gzip', 'x.csv.gz', 1 << 20);
    const capped = await inflateHead(gz, gz.length, 'gzip', 'x.csv.gz', 1000);
    // Assess
    expect(cut.whole).toBe(false);
    expect(cut.bytes.length).toBeGreaterThan(0);
    expect(text.startsWith(Buffer.from(cut.bytes).toString())).toBe(true);
    expect(whole).toMatchObject({ whole: true, compressedBytes: gz.length });
    expect(Buffer.from(whole.bytes).toString()).toBe(text);
    expect(capped.whole).toBe(false);
    expect(capped.bytes.length).toBeLessThan(text.length);
  });

  it('refuses a corrupt head naming the file', async () => {
    await expect(inflateHead(Buffer.from('not gzip at all'), 15, 'gzip', 'bad.jsonl.gz', 1000)).rejects.toThrow(
      /bad.jsonl.gz.*is not valid gzip data/,
    );
  });
});
