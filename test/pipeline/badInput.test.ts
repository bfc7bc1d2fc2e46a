import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEAK_ID_HASH_ENV } from '../../lib/data/idHashes.ts';
import { RunFailedError, runEmbedded } from '../../lib/hosts/embedded/embeddedRunner.ts';
import { parseRunOptions } from '../../lib/pipeline/runOptions.ts';
import { writeInput } from './support/datasets.ts';
import {
  parseLabels,
  type RunOutput,
  readRunRecord,
  removeTempDirs,
  runPipeline,
  tempDir,
} from './support/pipelineHarness.ts';

/**
 * DESIGN.md section 3, "Input", through the sharded pipeline: bad rows go to rejected.csv with file, line and
 * reason, in file/line order whatever the sharding; a repeated id is rejected with the place of the first; input
 * no method can learn from fails the run with a clear message, recorded in run.json.
 */

/** Two separated classes x / y, rows r0..r{n-1}; the first `labelled` rows carry a label. */
function goodLines(n: number, labelled = 6): string[] {
  const lines = ['id,label,a,b,c'];
  for (let i = 0; i < n; i++) {
    const label = i < labelled ? (i % 2 === 0 ? 'y' : 'x') : '';
    lines.push(`r${i},${label},${(i % 2) * 5 + (i % 7) / 10},${((i * 3) % 11) / 10},${i % 2}`);
  }
  return lines;
}

/** Line number (1-based, header = 1) -> replacement text, and the reason each must get. */
const BAD_LINES: { line: number; text: string; reason: string }[] = [
  { line: 6, text: 'r4,,1,abc,2', reason: '"column ""b"" is not a number: ""abc"""' },
  { line: 13, text: 'r11,,1,2', reason: '"expected 5 fields, found 4"' },
  { line: 21, text: 'r19,,1,2,3,4', reason: '"expected 5 fields, found 6"' },
  { line: 31, text: 'r29,,inf,2,3', reason: '"column ""a"" is not finite: ""inf"""' },
  { line: 32, text: 'r30,,1,NaN,3', reason: '"column ""b"" is not finite: ""NaN"""' },
  { line: 45, text: 'r43,,1,,3', reason: '"column ""b"" is empty"' },
  { line: 58, text: 'r56,,1e999,0,0', reason: '"column ""a"" is not finite: ""1e999"""' },
  {
    line: 63,
    text: 'r61,,1,-5e38,0',
    reason: '"column ""b"" is beyond +-3.4e38, the Float32 range features are held in: ""-5e38"""',
  },
];

function withBadLines(lines: string[]): string {
  const copy = [...lines];
  for (const bad of BAD_LINES) copy[bad.line - 1] = bad.text;
  return `${copy.join('\n')}\n`;
}

afterAll(removeTempDirs);

describe('a CSV with some bad rows', () => {
  let input = '';
  const runs: RunOutput[] = [];

  beforeAll(async () => {
    input = await writeInput(await tempDir(), 'some-bad.csv', withBadLines(goodLines(70)));
    for (const shards of [1, 5]) runs.push(await runPipeline(input, { shards, workers: 1, neighbors: 5 }));
  });

  it('writes every bad row to rejected.csv with file, line and reason, in line order', () => {
    // Prepare
    const expected = ['file,line,reason', ...BAD_LINES.map((bad) => `${input},${bad.line},${bad.reason}`)];
    // Act
    const rejected = runs[0].rejected;
    // Assess
    expect(rejected?.trimEnd().split('\n')).toEqual(expected);
  });

  it('writes byte-identical rejected.csv and labels.csv for 1 and 5 shards', () => {
    // Prepare
    const [one, five] = runs;
    // Act
    const shards = [one.record.shards, five.record.shards];
    // Assess
    expect(shards).toEqual([1, 5]);
    expect(five.rejected === one.rejected, 'rejected.csv differs byte for byte').toBe(true);
    expect(five.labels === one.labels, 'labels.csv differs byte for byte').toBe(true);
  });

  it('labels the other rows and counts the rejected ones in the report', () => {
    // Prepare
    const badIds = new Set(BAD_LINES.map((bad) => bad.text.split(',')[0]));
    // Act
    const labels = parseLabels(runs[1].labels);
    // Assess
    expect(labels.length).toBe(70 - BAD_LINES.length);
    expect(labels.some((row) => badIds.has(row.id))).toBe(false);
    expect(runs[1].report.n).toBe(70 - BAD_LINES.length);
    expect(runs[1].report.rejected).toBe(BAD_LINES.length);
    expect((runs[1].report.rejectedSample as { line: number }[]).map((row) => row.line)).toEqual(
      BAD_LINES.map((bad) => bad.line),
    );
  });
});

describe('a directory of CSV parts with bad rows', () => {
  it('orders rejected.csv file by file, then by line, the same for 1 and 5 shards', async () => {
    // Prepare
    const parts = join(await tempDir(), 'parts');
    await mkdir(parts);
    const lines = goodLines(60);
    const first = ['id,label,a,b,c', ...lines.slice(1, 31)];
    first[9] = 'r8,,x,0,0';
    first[25] = 'r24,,0,0';
    const second = ['id,label,a,b,c', ...lines.slice(31)];
    second[2] = 'r31,,0,0,0,0';
    second[20] = 'r49,,0,-inf,0';
    const a = await writeInput(parts, 'a.csv', `${first.join('\n')}\n`);
    const b = await writeInput(parts, 'b.csv', `${second.join('\n')}\n`);
    // Act
    const one = await runPipeline(parts, { shards: 1, workers: 1, neighbors: 5 });
    const five = await runPipeline(parts, { shards: 5, workers: 1, neighbors: 5 });
    // Assess
    expect(five.record.shards).toBe(5);
    expect(one.rejected?.trimEnd().split('\n')).toEqual([
      'file,line,reason',
      `${a},10,"column ""a"" is not a number: ""x"""`,
      `${a},26,"expected 5 fields, found 4"`,
      `${b},3,"expected 5 fields, found 6"`,
      `${b},21,"column ""b"" is not finite: ""-inf"""`,
    ]);
    expect(five.rejected === one.rejected, 'rejected.csv differs byte for byte').toBe(true);
    expect(five.labels === one.labels, 'labels.csv differs byte for byte').toBe(true);
  });
});

describe('a file with a repeated id', () => {
  it('keeps the first row, rejects the repeat with the place of the first, for 1 and 5 shards', async () => {
    // Prepare
    const lines = goodLines(60);
    lines[52] = 'r2,x,9,9,9'; // line 53 repeats r2 (line 4, labelled y), in another shard than the first
    const input = await writeInput(await tempDir(), 'repeated.csv', `${lines.join('\n')}\n`);
    // Act
    const one = await runPipeline(input, { shards: 1, workers: 1, neighbors: 5 });
    const five = await runPipeline(input, { shards: 5, workers: 1, neighbors: 5 });
    // Assess
    expect(one.rejected).toBe(`file,line,reason\n${input},53,"duplicate id ""r2"" (first at ${input}:4)"\n`);
    expect(five.rejected === one.rejected, 'rejected.csv differs byte for byte').toBe(true);
    expect(five.labels === one.labels, 'labels.csv differs byte for byte').toBe(true);
    const r2 = parseLabels(five.labels).filter((row) => row.id === 'r2');
    expect(r2).toEqual([{ id: 'r2', label: 'y', confidence: expect.any(Number), source: 'given' }]);
    expect(five.report.n).toBe(59);
    expect(five.report.rejected).toBe(1);
  });
});

describe('columns named by an option that the input does not have', () => {
  async function failure(files: Record<string, string>, options: Record<string, unknown>): Promise<string> {
    const dir = await tempDir();
    const inputDir = join(dir, 'in');
    await mkdir(inputDir);
    for (const [name, text] of Object.entries(files)) await writeInput(inputDir, name, text);
    const error = await runPipeline(inputDir, { shards: 2, workers: 1, neighbors: 5, ...options }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RunFailedError);
    return (error as RunFailedError).message;
  }

  it('--id-column missing from a CSV header: refused, naming the file and its columns (not made a feature)', async () => {
    // Prepare
    const text = `${goodLines(20).join('\n')}\n`;
    // Act
    const message = await failure(
      { 'a.csv': text, 'b.csv': text.replace('id,label', 'key,label') },
      {
        idColumn: 'key',
      },
    );
    // Assess
    expect(message).toMatch(/a\.csv: no id column "key" \(--id-column; its columns: id, label, a, b, c\)$/);
  });

  it('--label-column in no file: refused; in one file of two: the other file is unlabelled', async () => {
    // Prepare
    const text = `${goodLines(20).join('\n')}\n`;
    const renamed = text.replace('id,label', 'id,class');
    // Act
    const message = await failure({ 'a.csv': text, 'b.csv': text }, { labelColumn: 'class' });
    const dir = await tempDir();
    await writeInput(dir, 'a.csv', renamed);
    const unlabelled = goodLines(20).map((line) => line.replace(/^r(\d+),[xy]?,/, 's$1,').replace('id,label,', 'id,'));
    await writeInput(dir, 'b.csv', `${unlabelled.join('\n')}\n`); // no label column at all
    const output = await runPipeline(dir, { shards: 2, workers: 1, neighbors: 5, labelColumn: 'class' });
    // Assess
    expect(message).toMatch(
      /a\.csv: no label column "class" nor in any other input file \(--label-column; its columns: id, label, a, b, c\)$/,
    );
    expect(output.report.n).toBe(40);
  });

  it('files whose feature columns differ: the message says which columns', async () => {
    // Act
    const text = `${goodLines(20).join('\n')}\n`;
    const message = await failure({ 'a.csv': text, 'b.csv': text.replace('a,b,c', 'a,b,d') }, {});
    // Assess
    expect(message).toMatch(/b\.csv: feature columns differ from those of .*a\.csv: missing "c"; unexpected "d"$/);
  });
});

describe('features too large for the distance kernels', () => {
  it('refuses the run naming the column and --scale standard, with which it runs', async () => {
    // Prepare: column b in units of 1e20
    const lines = goodLines(40).map((line, i) => {
      if (i === 0) return line;
      const fields = line.split(',');
      fields[3] = `${Number(fields[3]) * 1e20}`;
      return fields.join(',');
    });
    const input = await writeInput(await tempDir(), 'huge.csv', `${lines.join('\n')}\n`);
    // Act
    const error = await runPipeline(input, { shards: 2, workers: 1, neighbors: 5 }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    const scaled = await runPipeline(input, { shards: 2, workers: 1, neighbors: 5, scale: 'standard' });
    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    expect((error as RunFailedError).message).toMatch(
      /huge\.csv: column "b" reaches 1\.00e\+20, beyond the 5\.33e\+18 that .* with 3 features .*: rescale the column, or use --scale standard$/,
    );
    expect(scaled.report.n).toBe(40);
  });
});

describe('input no method can learn from', () => {
  it.each([
    {
      name: 'no labelled row',
      labels: [] as string[],
      reason: 'no row has a label: give at least one label per class',
    },
    {
      name: 'a single class',
      labels: ['x', 'x', 'x'],
      reason: 'every given label is "x": at least two classes are needed to learn anything',
    },
  ])('$name: RunFailedError with a clear message, run.json failed', async ({ labels, reason }) => {
    // Prepare
    const lines = ['id,label,a', ...Array.from({ length: 30 }, (_, i) => `r${i},${labels[i] ?? ''},${i}`)];
    const dir = await tempDir();
    const input = await writeInput(dir, 'unusable.csv', `${lines.join('\n')}\n`);
    const stateDir = join(dir, 'state');
    // Act
    const error = await runPipeline(input, { shards: 3, workers: 1, neighbors: 5 }, { stateDir }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const failure = error as RunFailedError;
    expect(failure.message).toBe(`${input}: ${reason}`);
    const record = await readRunRecord(stateDir, failure.runId);
    expect({ status: record.status, error: record.error }).toEqual({ status: 'failed', error: failure.message });
    expect(record.finishedAt).toBeDefined();
  });
});

describe('a file whose every row is rejected', () => {
  it('writes rejected.csv to --out and fails saying how many rows were rejected and the top reasons', async () => {
    // Prepare
    const lines = ['id,label,a,b'];
    for (let i = 0; i < 12; i++) lines.push(`r${i},x,${i},oops${i}`); // 12 x column "b" is not a number
    for (let i = 12; i < 17; i++) lines.push(`r${i},y,${i}`); // 5 x expected 4 fields, found 3
    lines.push('r17,y,1,inf'); // 1 x not finite
    const dir = await tempDir();
    const input = await writeInput(dir, 'all-bad.csv', `${lines.join('\n')}\n`);
    const out = join(dir, 'out');
    const stateDir = join(dir, 'state');
    // Act
    const error = await runEmbedded({
      input,
      out,
      stateDir,
      options: parseRunOptions({ shards: 3, workers: 1, neighbors: 5 }),
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const failure = error as RunFailedError;
    expect(failure.message).toBe(
      `${input}: all 18 rows were rejected, each with its line and reason in rejected.csv; ` +
        '12 rows: column "b" is not a number (first at line 2); 5 rows: expected 4 fields, found 3 (first at line 14); ' +
        '1 row: column "b" is not finite (first at line 19)',
    );
    const rejected = (await readFile(join(out, 'rejected.csv'), 'utf8')).trimEnd().split('\n');
    expect(rejected.length).toBe(1 + 18);
    expect(rejected[1]).toBe(`${input},2,"column ""b"" is not a number: ""oops0"""`);
    const record = await readRunRecord(stateDir, failure.runId);
    expect({ status: record.status, error: record.error }).toEqual({ status: 'failed', error: failure.message });
  });

  it('a refused run whose only other class was on a rejected row: rejected.csv in --out, the message says so', async () => {
    // Prepare: class x only on line 2, whose "b" is not a number; y on the other labelled rows
    const lines = goodLines(30).map((line) => line.replace(',x,', ',y,'));
    lines[1] = 'r0,x,1,oops,0';
    lines[9] = 'r8,,1,2'; // line 10: too few fields
    const dir = await tempDir();
    const input = await writeInput(dir, 'one-class-left.csv', `${lines.join('\n')}\n`);
    const out = join(dir, 'out');
    // Act
    const error = await runEmbedded({
      input,
      out,
      stateDir: join(dir, 'state'),
      options: parseRunOptions({ shards: 3, workers: 1, neighbors: 5 }),
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    expect((error as RunFailedError).message).toBe(
      `${input}: every given label is "y": at least two classes are needed to learn anything; 2 rows were ` +
        'rejected and left out, each with its line and reason in rejected.csv: 1 row: column "b" is not a number ' +
        '(first at line 2); 1 row: expected 5 fields, found 4 (first at line 10)',
    );
    expect(await readFile(join(out, 'rejected.csv'), 'utf8')).toBe(
      `file,line,reason\n${input},2,"column ""b"" is not a number: ""oops"""\n${input},10,"expected 5 fields, found 4"\n`,
    );
  });

  it('gives the same outputs when every two ids of one length share a hash (collisions re-checked byte for byte)', async () => {
    // Prepare: r0..r9 share one hash, r10..r59 another (WEAK_ID_HASH_ENV); r2 and r41 repeat
    const lines = goodLines(60);
    lines[52] = 'r2,x,9,9,9'; // line 53 repeats r2 (line 4)
    lines[58] = 'r41,,1,1,1'; // line 59 repeats r41 (line 43)
    const input = await writeInput(await tempDir(), 'collisions.csv', `${lines.join('\n')}\n`);
    const strong = await runPipeline(input, { shards: 5, workers: 1, neighbors: 5 });
    // Act
    process.env[WEAK_ID_HASH_ENV] = '1';
    const weak = await runPipeline(input, { shards: 5, workers: 1, neighbors: 5 }).finally(() => {
      delete process.env[WEAK_ID_HASH_ENV];
    });
    // Assess
    expect(weak.rejected).toBe(
      `file,line,reason\n${input},53,"duplicate id ""r2"" (first at ${input}:4)"\n` +
        `${input},59,"duplicate id ""r41"" (first at ${input}:43)"\n`,
    );
    expect(weak.rejected === strong.rejected, 'rejected.csv differs byte for byte').toBe(true);
    expect(weak.labels === strong.labels, 'labels.csv differs byte for byte').toBe(true);
    expect(weak.report.n).toBe(58);
  });
});
