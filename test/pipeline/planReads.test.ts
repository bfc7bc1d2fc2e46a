import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunFailedError, runEmbedded } from '../../lib/hosts/embedded/embeddedRunner.ts';
import type { RunRecord } from '../../lib/pipeline/run/runRecord.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { seededRandom, writeInput } from './support/datasets.ts';
import { parseLabels, readRunRecord, removeTempDirs, runPipeline, tempDir } from './support/pipelineHarness.ts';

/**
 * Issue 16, the plan step: it reads the heads of the inputs only, never a whole file, and line numbers stay
 * exact without it: each ingest task counts the lines of its range and collect sums them (shardPlace.ts), so
 * rejected.csv, duplicate-id places and default ids are the same for every shard count.
 */

afterAll(removeTempDirs);

/** CSV rows without an id column (default ids are row numbers), with blank lines and bad rows throughout. */
function csvWithoutIds(n: number, seed: number): string {
  const random = seededRandom(seed);
  const lines = ['label,a,b'];
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.03) lines.push('');
    else if (r < 0.06) lines.push(',1,abc');
    else if (r < 0.08) lines.push(',1');
    const label = i < 6 ? (i % 2 === 0 ? 'x' : 'y') : '';
    lines.push(`${label},${(i % 2) * 4 + random().toFixed(3)},${random().toFixed(3)}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** JSONL rows of which some carry an id (default ids for the others, by line), a BOM, bad rows and blank lines. */
function jsonlSomeIds(n: number, seed: number): string {
  const random = seededRandom(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.03) lines.push('   ');
    else if (r < 0.06) lines.push('{"label":null,"a":1,"b":"x"}');
    else if (r < 0.08) lines.push('{"id":"r3","label":null,"a":1,"b":2}'); // repeats the id of row 3
    const id = i % 3 === 0 ? `"id":"r${i}",` : '';
    const label = i < 6 ? (i % 2 === 0 ? '"x"' : '"y"') : 'null';
    lines.push(`{${id}"label":${label},"a":${(i % 2) * 4 + random()},"b":${random()}}`);
  }
  return `\ufeff${lines.join('\n')}`;
}

describe('line numbers without a corpus-wide count', () => {
  it.each([
    { name: 'a CSV without ids (CRLF)', file: 'no-ids.csv', text: csvWithoutIds(400, 7) },
    { name: 'a JSONL with some ids, a BOM and no final line end', file: 'some-ids.jsonl', text: jsonlSomeIds(400, 8) },
  ])('$name: byte-identical rejected.csv and labels.csv for 1 and 13 shards', async ({ file, text }) => {
    // Prepare
    const input = await writeInput(await tempDir(), file, text);
    // Act
    const one = await runPipeline(input, { shards: 1, workers: 1, neighbors: 5 });
    const many = await runPipeline(input, { shards: 13, workers: 2, neighbors: 5 });
    // Assess
    expect(many.record.shards).toBe(13);
    expect(one.rejected?.split('\n').length).toBeGreaterThan(10);
    expect(many.rejected === one.rejected, 'rejected.csv differs byte for byte').toBe(true);
    expect(many.labels === one.labels, 'labels.csv differs byte for byte').toBe(true);
  });

  it('gives default ids named by file and row in a directory of files without ids, for 1 and 6 shards', async () => {
    // Prepare
    const dir = join(await tempDir(), 'parts');
    await mkdir(dir);
    await writeInput(dir, 'a.csv', csvWithoutIds(150, 11));
    await writeInput(dir, 'b.csv', csvWithoutIds(150, 12));
    // Act
    const one = await runPipeline(dir, { shards: 1, workers: 1, neighbors: 5 });
    const many = await runPipeline(dir, { shards: 6, workers: 2, neighbors: 5 });
    // Assess
    const ids = parseLabels(many.labels).map((row) => row.id);
    expect(ids[0]).toBe('a.csv:0');
    expect(ids.at(-1)).toMatch(/^b\.csv:\d+$/);
    expect(many.rejected === one.rejected, 'rejected.csv differs byte for byte').toBe(true);
    expect(many.labels === one.labels, 'labels.csv differs byte for byte').toBe(true);
  });

  it('numbers rejected rows and default ids by their line in the file', async () => {
    // Prepare: line 1 header, 2 blank, 3 bad, 4 good (row 2), 5 good (row 3), 6 repeated id... by shard count
    const lines = ['label,a,b', '', ',1,zz', 'x,0,0', 'y,5,5'];
    for (let i = 0; i < 40; i++) lines.push(i === 30 ? ',1' : `,${(i % 2) * 5},${i % 3}`);
    const input = await writeInput(await tempDir(), 'numbered.csv', `${lines.join('\n')}\n`);
    // Act
    const run = await runPipeline(input, { shards: 7, workers: 1, neighbors: 3 });
    // Assess
    expect(run.rejected).toBe(
      `file,line,reason\n${input},3,"column ""b"" is not a number: ""zz"""\n${input},36,"expected 3 fields, found 2"\n`,
    );
    const ids = parseLabels(run.labels).map((row) => row.id);
    expect(ids.slice(0, 3)).toEqual(['2', '3', '4']);
    expect(ids.at(-1)).toBe(String(lines.length - 2));
    expect(ids).not.toContain('34'); // line 36 was rejected
  });
});

/** A run that plan and ingest complete and collect refuses (one class only), for plan's figures alone. */
async function planRecord(input: string, shards: number): Promise<RunRecord> {
  const stateDir = join(await tempDir(), 'state');
  const error = await runEmbedded({
    input,
    out: join(await tempDir(), 'out'),
    stateDir,
    options: parseRunOptions({ shards, workers: 2 }),
  }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(RunFailedError);
  return readRunRecord(stateDir, (error as RunFailedError).runId);
}

describe('the plan step reads heads only', () => {
  it('reads the same bounded number of bytes from a 1 MB and a 12 MB CSV', async () => {
    // Prepare: one class only, so the run stops at collect
    const rows = (n: number) => {
      const random = seededRandom(n);
      const lines = ['id,label,a,b,c,d'];
      for (let i = 0; i < n; i++)
        lines.push(`row-${i},${i < 3 ? 'x' : ''},${random()},${random()},${random()},${random()}`);
      return `${lines.join('\n')}\n`;
    };
    const dir = await tempDir();
    const small = await writeInput(dir, 'small.csv', rows(14_000));
    const large = await writeInput(dir, 'large.csv', rows(150_000));
    const largeBytes = (await readFile(large)).length;
    // Act
    const smallPlan = (await planRecord(small, 16)).metrics?.plan;
    const largePlan = (await planRecord(large, 16)).metrics?.plan;
    // Assess
    expect(largeBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(smallPlan?.bytesRead).toBeGreaterThan(0);
    // the head (1 MiB, read once) and the run's own records: not the file, and not more for a larger one
    expect(largePlan?.bytesRead).toBeLessThan(1.1 * 2 ** 20);
    expect(largePlan?.bytesRead).toBeLessThanOrEqual((smallPlan?.bytesRead ?? 0) + 4096);
  });
});
