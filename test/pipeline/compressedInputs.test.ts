import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { RunFailedError, runEmbedded } from '../../lib/hosts/embedded/embeddedRunner.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { blobRows, csvText, jsonlText, seededRandom, writeInput } from './support/datasets.ts';
import { readRunRecord, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * Issue 20, compressed inputs: a `.csv.gz` / `.jsonl.gz` is one shard, decompressed as a stream by its ingest task,
 * and gives the same labels.csv and rejected.csv as the plain file (rejected rows by their line in the file).
 */

afterAll(removeTempDirs);

/** Blobs with a few bad rows and a blank line, without ids (default ids are row numbers). */
function csvWithBadRows(): string {
  const lines = csvText(blobRows({ n: 300, d: 3, seed: 4 }), false)
    .trimEnd()
    .split('\n');
  lines[7] = ',1,abc,2';
  lines[120] = '';
  lines[250] = ',1,2';
  return `${lines.join('\n')}\n`;
}

function jsonlWithBadRows(): string {
  const lines = jsonlText(blobRows({ n: 300, d: 3, seed: 5 }))
    .trimEnd()
    .split('\n');
  lines[12] = '{"id":"bad","label":null,"vector":[1,2]}';
  lines[200] = 'not json';
  return lines.join('\n');
}

describe('a compressed input', () => {
  it.each([
    { format: 'csv', text: csvWithBadRows() },
    { format: 'jsonl', text: jsonlWithBadRows() },
  ])(
    'gzip-compressed $format gives byte-identical labels.csv and rejected.csv to the plain file',
    async ({ format, text }) => {
      // Prepare
      const dir = await tempDir();
      const plain = await writeInput(dir, `data.${format}`, text);
      const packed = await writeInput(dir, `data.${format}.gz`, gzipSync(text));
      // Act
      const fromPlain = await runPipeline(plain, { shards: 3, workers: 1, neighbors: 5 });
      const fromGzip = await runPipeline(packed, { shards: 3, workers: 1, neighbors: 5 });
      // Assess
      expect(fromGzip.record.shards).toBe(1); // one shard per compressed file
      expect(fromGzip.labels === fromPlain.labels, 'labels.csv differs byte for byte').toBe(true);
      expect(fromPlain.rejected?.split('\n').length).toBeGreaterThan(2);
      expect(fromGzip.rejected).toBe(fromPlain.rejected?.replaceAll(plain, packed));
    },
  );

  it('is one shard among the ranges of plain files in a directory, labels as the plain files', async () => {
    // Prepare
    const text = csvText(blobRows({ n: 400, d: 3, seed: 6 }));
    const lines = text.trimEnd().split('\n');
    const [header, first, second] = [lines[0], lines.slice(1, 201), lines.slice(201)];
    const plainDir = join(await tempDir(), 'plain');
    const mixedDir = join(await tempDir(), 'mixed');
    await mkdir(plainDir);
    await mkdir(mixedDir);
    await writeInput(plainDir, 'a.csv', `${[header, ...first].join('\n')}\n`);
    await writeInput(plainDir, 'b.csv', `${[header, ...second].join('\n')}\n`);
    await writeInput(mixedDir, 'a.csv.gz', gzipSync(`${[header, ...first].join('\n')}\n`));
    await writeInput(mixedDir, 'b.csv', `${[header, ...second].join('\n')}\n`);
    // Act
    const plain = await runPipeline(plainDir, { shards: 4, workers: 2, neighbors: 5 });
    const mixed = await runPipeline(mixedDir, { shards: 4, workers: 2, neighbors: 5 });
    // Assess
    expect(mixed.record.shards).toBe(4);
    expect(mixed.labels === plain.labels, 'labels.csv differs byte for byte').toBe(true);
  });

  it('fails the run naming the file when its gzip data is corrupt', async () => {
    // Prepare: the head inflates, the rest is cut off
    const text = csvText(blobRows({ n: 3000, d: 3, seed: 7 }));
    const gz = gzipSync(text);
    const input = await writeInput(await tempDir(), 'cut.csv.gz', gz.subarray(0, gz.length - 100));
    // Act
    const run = runPipeline(input, { workers: 1, neighbors: 5 });
    // Assess
    await expect(run).rejects.toBeInstanceOf(RunFailedError);
    await expect(run).rejects.toThrow(`${input}: is not valid gzip data`);
  });
});

describe('a zstd-compressed input', () => {
  it('gives the plain file labels where Node.js has zstd, else fails naming the file and the Node.js needed', async () => {
    // Prepare
    const zlib = (await import('node:zlib')) as unknown as { zstdCompressSync?: (data: string) => Buffer };
    const text = csvText(blobRows({ n: 200, d: 3, seed: 8 }));
    const dir = await tempDir();
    const plain = await writeInput(dir, 'data.csv', text);
    // A zstd frame header (magic 28 b5 2f fd) is enough for the refusal, which comes before any decoding.
    const bytes = zlib.zstdCompressSync ? zlib.zstdCompressSync(text) : Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]);
    const packed = await writeInput(dir, 'data.csv.zst', bytes);
    // Act
    const run = runPipeline(packed, { workers: 1, neighbors: 5 });
    // Assess
    if (zlib.zstdCompressSync) {
      const fromPlain = await runPipeline(plain, { workers: 1, neighbors: 5 });
      expect((await run).labels === fromPlain.labels, 'labels.csv differs byte for byte').toBe(true);
    } else {
      await expect(run).rejects.toThrow(
        `${packed}: is zstd-compressed, which needs Node.js 22.15 or later (this is ${process.version})`,
      );
    }
  });
});

describe('a compressed file larger than the head the plan step reads', () => {
  /** About 2 MB of gzip: rows of random decimals, one class only, so the run stops at collect after ingest. */
  function largeGzip(): Buffer {
    const random = seededRandom(9);
    const lines = ['id,label,a,b,c,d,e,f'];
    for (let i = 0; i < 80_000; i++)
      lines.push([`r${i}`, i < 3 ? 'x' : '', ...Array.from({ length: 6 }, () => random().toFixed(6))].join(','));
    return gzipSync(`${lines.join('\n')}\n`);
  }

  async function runUntilFailure(input: string) {
    const stateDir = join(await tempDir(), 'state');
    const options = parseRunOptions({ workers: 1 });
    const error = await runEmbedded({ input, out: join(await tempDir(), 'out'), stateDir, options }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RunFailedError);
    const record = await readRunRecord(stateDir, (error as RunFailedError).runId);
    return { error: error as RunFailedError, record };
  }

  it('plans from its inflated head (1 MiB read) and ingests it whole; a cut tail fails naming the file', async () => {
    // Prepare
    const gz = largeGzip();
    const dir = await tempDir();
    const whole = await writeInput(dir, 'large.csv.gz', gz);
    const cut = await writeInput(dir, 'cut.csv.gz', gz.subarray(0, gz.length - 1000));
    // Act
    const fromWhole = await runUntilFailure(whole);
    const fromCut = await runUntilFailure(cut);
    // Assess
    expect(gz.length).toBeGreaterThan(1.5 * 2 ** 20);
    expect(fromWhole.record.metrics?.plan?.bytesRead).toBeLessThan(1.1 * 2 ** 20);
    expect(fromWhole.error.message).toContain('at least two classes are needed'); // collect read all 80,000 rows
    expect(fromCut.record.shards).toBe(1); // planned from the head, which is intact
    expect(fromCut.error.message).toContain(`${cut}: is not valid gzip data: unexpected end of file`);
  });
});
