import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHODS } from '../../lib/pipeline/runOptions.ts';
import { type CliResult, parseSimpleCsv, removeTempDirs, repoPath, runCli, tempDir } from './cliHarness.ts';

/**
 * `pseudolabel run` end to end, through the spawned command and its output files only: bad input (DESIGN.md
 * section 3, "Input"), invalid options, and the methods, formats and options on examples/digits.
 */

const DIGITS_CSV = repoPath('examples/digits.csv');
const DIGITS_JSONL = repoPath('examples/digits.jsonl');
const DIGITS_TRUTH = repoPath('examples/digits-truth.csv');

/** Two well separated classes, rows r0..r{n-1}; the first 6 rows carry a label. Deterministic. */
function twoBlobRows(n = 40): string[] {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const x = [0, 1, 2].map((j) => (c * 5 + ((i * 7 + j * 3) % 11) / 10).toFixed(3));
    rows.push(`r${i},${i < 6 ? c : ''},${x.join(',')}`);
  }
  return rows;
}

const HEADER = 'id,label,a,b,c';

async function writeInput(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, content);
  return path;
}

interface Report {
  method: string;
  n: number;
  given: number;
  rejected: number;
  rejectedSample: { file: string; line: number; reason: string }[];
  parameters: Record<string, unknown>;
  holdout?: {
    fraction: number;
    size: number;
    supervised: { accuracy: number; macroF1: number };
    semiSupervised: { accuracy: number; macroF1: number };
    helped: boolean;
    verdict: string;
    difference: { estimate: number; low: number; high: number; splits: number[] };
    given: number;
  };
  warnings: string[];
}

async function report(result: CliResult): Promise<Report> {
  return JSON.parse(await result.read('report.json')) as Report;
}

async function labels(result: CliResult): Promise<Record<string, string>[]> {
  return parseSimpleCsv(await result.read('labels.csv'));
}

/** Accuracy on the rows without a given label, against examples/digits-truth.csv (unreached rows count as wrong). */
async function digitsAccuracy(rows: Record<string, string>[]): Promise<number> {
  const truth = new Map(parseSimpleCsv(await readFile(DIGITS_TRUTH, 'utf8')).map((r) => [r.id, r.label]));
  const scored = rows.filter((r) => r.source !== 'given');
  return scored.filter((r) => r.label === truth.get(r.id)).length / scored.length;
}

function countBy(rows: Record<string, string>[], key: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row[key]] = (counts[row[key]] ?? 0) + 1;
  return counts;
}

afterAll(removeTempDirs);

describe('pseudolabel run: bad rows are rejected, the rest is labelled', () => {
  it('writes non-numeric, non-finite and short CSV rows to rejected.csv with file, line and reason', async () => {
    // Prepare
    const rows = twoBlobRows();
    rows[10] = 'r10,,1.0,abc,2.0';
    rows[11] = 'r11,,1.0,inf,2.0';
    rows[12] = 'r12,,NaN,1,2';
    rows[13] = 'r13,,1.0,2.0';
    const input = await writeInput('bad.csv', `${[HEADER, ...rows].join('\n')}\n`);

    // Act
    const result = await runCli(['--input', input]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.files).toEqual(['labels.csv', 'rejected.csv', 'report.html', 'report.json']);
    expect(await result.read('rejected.csv')).toBe(
      'file,line,reason\n' +
        `${input},12,"column ""b"" is not a number: ""abc"""\n` +
        `${input},13,"column ""b"" is not finite: ""inf"""\n` +
        `${input},14,"column ""a"" is not finite: ""NaN"""\n` +
        `${input},15,"expected 5 fields, found 4"\n`,
    );
    const labelled = await labels(result);
    expect(labelled.map((r) => r.id)).toEqual(
      rows.map((r) => r.split(',')[0]).filter((id) => !['r10', 'r11', 'r12', 'r13'].includes(id)),
    );
    expect(labelled.every((r) => r.label === String(Number(r.id.slice(1)) % 2))).toBe(true);
    expect(result.stderrLines).toContain('pseudolabel: 4 rows rejected (reasons in rejected.csv)');
    const written = await report(result);
    expect(written.rejected).toBe(4);
    expect(written.n).toBe(36);
    expect(written.rejectedSample).toEqual([
      { file: input, line: 12, reason: 'column "b" is not a number: "abc"' },
      { file: input, line: 13, reason: 'column "b" is not finite: "inf"' },
      { file: input, line: 14, reason: 'column "a" is not finite: "NaN"' },
      { file: input, line: 15, reason: 'expected 5 fields, found 4' },
    ]);
  });

  it('rejects JSONL rows with a non-finite or non-numeric value, a short vector or broken JSON', async () => {
    // Prepare
    const lines = twoBlobRows().map((row) => {
      const [id, label, ...x] = row.split(',');
      return JSON.stringify({ id, label: label === '' ? null : Number(label), vector: x.map(Number) });
    });
    lines[10] = '{"id":"r10","label":null,"vector":[1,1e999,2]}';
    lines[11] = '{"id":"r11","label":null,"vector":[1,2]}';
    lines[12] = '{"id":"r12","label":null,"vector":[1,"x",2]}';
    lines[13] = '{"id":"r13","vector":[1,2';
    const input = await writeInput('bad.jsonl', `${lines.join('\n')}\n`);

    // Act
    const result = await runCli(['--input', input]);

    // Assess
    expect(result.code).toBe(0);
    const [header, ...rejected] = (await result.read('rejected.csv')).trimEnd().split('\n');
    expect(header).toBe('file,line,reason');
    expect(rejected.slice(0, 3)).toEqual([
      `${input},11,vector[1] is not finite: Infinity`,
      `${input},12,"""vector"" has 2 values, expected 3"`,
      `${input},13,"vector[1] is not a number: ""x"""`,
    ]);
    // The rest of the reason is the JavaScript engine's own JSON.parse message, which varies with its version.
    expect(rejected[3]).toMatch(/^.*,14,"invalid JSON: .+"$/);
    expect(rejected[3].startsWith(`${input},14,`)).toBe(true);
    expect(rejected.length).toBe(4);
    expect((await labels(result)).length).toBe(36);
    expect(result.stderrLines).toContain('pseudolabel: 4 rows rejected (reasons in rejected.csv)');
    expect((await report(result)).rejected).toBe(4);
  });
});

describe('pseudolabel run: input that cannot be read fails with one line naming the file', () => {
  it.each([
    [
      'a binary file',
      'binary.csv',
      Uint8Array.from({ length: 2048 }, (_, i) => i % 256),
      'binary data in the header (control character 0x00); expected UTF-8 CSV text',
    ],
    ['an empty file', 'empty.csv', '', 'empty file: no header row'],
    [
      'a file that is not Parquet',
      'junk.parquet',
      'id,label\n1,2\n',
      'not a readable Parquet file: parquet file invalid (footer != PAR1)',
    ],
    [
      'a compressed file without a .gz name',
      'data.jsonl',
      Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3]),
      'holds gzip-compressed data: name it data.jsonl.gz to have it read',
    ],
    [
      'a .gz file that is not gzip data',
      'data.csv.gz',
      'id,label,a\n1,x,2\n',
      'is not valid gzip data: incorrect header check',
    ],
    [
      'a file of unknown type',
      'notes.txt',
      'hello\n',
      'unknown format: expected a .csv, .jsonl, .ndjson or .parquet (CSV and JSON Lines also as .gz or .zst) file',
    ],
  ])('%s', async (_case, name, content, reason) => {
    // Prepare
    const input = await writeInput(name, content);

    // Act
    const result = await runCli(['--input', input]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([`pseudolabel: cannot read input file ${input}: ${reason}`]);
    expect(result.stdout).toBe('');
    expect(result.files).toEqual([]);
  });

  it('names the bad file inside an input directory', async () => {
    // Prepare
    const dir = await tempDir();
    await writeFile(join(dir, 'a.csv'), `${[HEADER, ...twoBlobRows()].join('\n')}\n`);
    await writeFile(
      join(dir, 'b.csv'),
      Uint8Array.from({ length: 64 }, (_, i) => i),
    );

    // Act
    const result = await runCli(['--input', dir]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([
      `pseudolabel: cannot read input file ${join(dir, 'b.csv')}: binary data in the header (control character 0x00); expected UTF-8 CSV text`,
    ]);
    expect(result.files).toEqual([]);
  });

  it('a missing file', async () => {
    // Prepare
    const input = join(await tempDir(), 'missing.csv');

    // Act
    const result = await runCli(['--input', input]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([`pseudolabel: cannot read input file ${input}: no such file or directory`]);
    expect(result.files).toEqual([]);
  });
});

describe('pseudolabel run: data no method can learn from', () => {
  it('refuses an input without a single label', async () => {
    // Prepare
    const rows = twoBlobRows().map((row) => row.replace(/^(r\d+),\d*,/, '$1,,'));
    const input = await writeInput('unlabelled.csv', `${[HEADER, ...rows].join('\n')}\n`);

    // Act
    const result = await runCli(['--input', input]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines.at(-1)).toBe(
      `pseudolabel: ${input}: no row has a label: give at least one label per class`,
    );
    expect(result.files).toEqual([]);
  });

  it('refuses an input whose labels are all one class', async () => {
    // Prepare
    const rows = twoBlobRows().map((row) => row.replace(/^(r\d+),1,/, '$1,0,'));
    const input = await writeInput('oneclass.csv', `${[HEADER, ...rows].join('\n')}\n`);

    // Act
    const result = await runCli(['--input', input]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines.at(-1)).toBe(
      `pseudolabel: ${input}: every given label is "0": at least two classes are needed to learn anything`,
    );
    expect(result.files).toEqual([]);
  });

  it('refuses more neighbors than rows, naming the flag and the row count', async () => {
    // Prepare
    const input = await writeInput('six.csv', `${[HEADER, ...twoBlobRows(6)].join('\n')}\n`);

    // Act
    const result = await runCli(['--input', input, '--neighbors', '10']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines.at(-1)).toBe(
      `pseudolabel: --neighbors 10 is more than the 6 rows of ${input}: use --neighbors 6 or fewer`,
    );
    expect(result.files).toEqual([]);
  });
});

describe('pseudolabel run --task-memory', () => {
  it('stops a run that cannot fit the limit with one line naming the limit and what would help', async () => {
    // Prepare: a Node process alone takes about 40 MB
    const input = await writeInput('small.csv', `${[HEADER, ...twoBlobRows()].join('\n')}\n`);

    // Act
    const result = await runCli(['--input', input, '--neighbors', '3', '--task-memory', '40']);

    // Assess
    expect(result.code).toBe(1);
    // the plan step refuses it (capacity.ts), or the watchdog stops the plan task's process: either says so
    expect(result.stderrLines.at(-1)).toMatch(/^pseudolabel: .*--task-memory 40 MB.*; .*--task-memory/);
    expect(result.files).toEqual([]);
  });
});

describe('pseudolabel run: invalid options fail before reading any data', () => {
  it('refuses --alpha 1.5', async () => {
    // Prepare
    const input = await writeInput('good.csv', `${[HEADER, ...twoBlobRows()].join('\n')}\n`);

    // Act
    const result = await runCli(['--input', input, '--alpha', '1.5']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([
      'pseudolabel: invalid options: --alpha: Too big: expected number to be <1 (got 1.5)',
    ]);
    expect(result.files).toEqual([]);
  });

  it.each([
    [['--neighbors', '5000'], 'pseudolabel: invalid options: --neighbors: at most 1000 (got 5000)'],
    [['--max-iter', '1000000'], 'pseudolabel: invalid options: --max-iter: at most 100000 (got 1000000)'],
    [
      ['--workers', '100000'],
      /^pseudolabel: invalid options: --workers: at most \d+, 4 per core of this host \(got 100000\)$/,
    ],
    [['--shards', '5000'], "pseudolabel: invalid options: --shards: at most 1000, this host's maximum (got 5000)"],
  ])('refuses %j above its bound, saying the bound', async (flags, message) => {
    // Prepare
    const input = await writeInput('good.csv', `${[HEADER, ...twoBlobRows()].join('\n')}\n`);

    // Act
    const result = await runCli(['--input', input, ...flags]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toHaveLength(1);
    expect(result.stderrLines[0]).toMatch(message);
    expect(result.files).toEqual([]);
  });

  it('refuses an unknown method, listing the choices, without the whole help text', async () => {
    // Prepare
    const input = await writeInput('good.csv', `${[HEADER, ...twoBlobRows()].join('\n')}\n`);

    // Act
    const result = await runCli(['--input', input, '--method', 'magic']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([
      `error: option '--method <method>' argument 'magic' is invalid. Allowed choices are ${METHODS.join(', ')}.`,
      '(add --help for usage)',
    ]);
    expect(result.files).toEqual([]);
  });

  it('refuses a non-numeric --neighbors', async () => {
    // Prepare
    const input = await writeInput('good.csv', `${[HEADER, ...twoBlobRows()].join('\n')}\n`);

    // Act
    const result = await runCli(['--input', input, '--neighbors', 'ten']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([
      "error: option '--neighbors <k>' argument 'ten' is invalid. --neighbors needs a number",
      '(add --help for usage)',
    ]);
  });

  it('names the --config file when an option in it is invalid', async () => {
    // Prepare
    const input = await writeInput('good.csv', `${[HEADER, ...twoBlobRows()].join('\n')}\n`);
    const config = await writeInput('options.json', JSON.stringify({ alpha: 1.5 }));

    // Act
    const result = await runCli(['--input', input, '--config', config]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([
      `pseudolabel: invalid options (flags and ${config}): --alpha: Too big: expected number to be <1 (got 1.5)`,
    ]);
  });
});

describe('pseudolabel run on examples/digits', () => {
  let csvRun: CliResult;
  let csvLabels: Record<string, string>[];
  let inputIds: string[];
  let givenLabels: Map<string, string>;

  beforeAll(async () => {
    csvRun = await runCli(['--input', DIGITS_CSV]);
    csvLabels = await labels(csvRun);
    const input = (await readFile(DIGITS_CSV, 'utf8')).trimEnd().split('\n').slice(1);
    inputIds = input.map((line) => line.slice(0, line.indexOf(',')));
    givenLabels = new Map(
      input.map((line) => line.split(',', 2) as [string, string]).filter(([, label]) => label !== ''),
    );
  });

  it('labels every row by label spreading, above 88% accuracy', async () => {
    // Assess
    expect(csvRun.code).toBe(0);
    expect(csvRun.files).toEqual(['labels.csv', 'report.html', 'report.json']);
    expect((await csvRun.read('labels.csv')).split('\n')[0]).toBe('id,label,confidence,source');
    expect(csvLabels.length).toBe(1797);
    expect(csvLabels.map((r) => r.id)).toEqual(inputIds);
    const sources = countBy(csvLabels, 'source');
    expect(sources.given).toBe(50);
    // Label spreading converges in 6 iterations here (as scikit-learn's does), before reaching 5 rows.
    expect(Object.keys(sources).sort()).toEqual(['given', 'none', 'propagated']);
    expect(sources.none).toBeLessThanOrEqual(5);
    for (const row of csvLabels.filter((r) => r.source === 'none'))
      expect([row.label, row.confidence]).toEqual(['', '0.000000']);
    for (const row of csvLabels.filter((r) => r.source === 'given')) expect(row.label).toBe(givenLabels.get(row.id));
    expect(await digitsAccuracy(csvLabels)).toBeGreaterThanOrEqual(0.88);
    expect(csvRun.stderrLines).toContain(
      'pseudolabel: 1797 rows, 64 features, 10 classes, 50 given labels; label-spreading labelled 1,792 rows, 5 unreached: try --neighbors 20 (converged after 6 iterations)',
    );
  });

  it('gives the same labels.csv from the JSONL copy of the data', async () => {
    // Act
    const result = await runCli(['--input', DIGITS_JSONL]);

    // Assess
    expect(result.code).toBe(0);
    expect(await result.read('labels.csv')).toBe(await csvRun.read('labels.csv'));
  });

  it('writes labels.parquet with --format parquet, readable with hyparquet', async () => {
    // Act
    const result = await runCli(['--input', DIGITS_CSV, '--format', 'parquet']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.files).toEqual(['labels.parquet', 'report.html', 'report.json']);
    const file = await asyncBufferFromFile(join(result.out, 'labels.parquet'));
    const rows = (await parquetReadObjects({ file })) as {
      id: string;
      label: string | null;
      confidence: number;
      source: string;
    }[];
    expect(
      rows.map((r) => ({ id: r.id, label: r.label ?? '', confidence: r.confidence.toFixed(6), source: r.source })),
    ).toEqual(csvLabels);
  });

  it('labels by label propagation with --method label-propagation', async () => {
    // Act
    const result = await runCli(['--input', DIGITS_CSV, '--method', 'label-propagation']);

    // Assess
    expect(result.code).toBe(0);
    expect((await report(result)).method).toBe('label-propagation');
    const rows = await labels(result);
    expect(countBy(rows, 'source')).toEqual({ given: 50, propagated: 1747 });
    expect(await digitsAccuracy(rows)).toBeGreaterThanOrEqual(0.9);
  });

  it('labels by self-training rounds with --method self-training', async () => {
    // Act
    const result = await runCli(['--input', DIGITS_CSV, '--method', 'self-training']);

    // Assess
    expect(result.code).toBe(0);
    expect((await report(result)).method).toBe('self-training');
    const rows = await labels(result);
    const sources = countBy(rows, 'source');
    expect(Object.keys(sources).sort()).toEqual(['given', 'none', 'pseudo']);
    expect(sources.pseudo).toBeGreaterThan(1500);
    expect(await digitsAccuracy(rows)).toBeGreaterThanOrEqual(0.88);
  });

  it('labels by co-training with --method co-training', async () => {
    // Act
    const result = await runCli(['--input', DIGITS_CSV, '--method', 'co-training']);

    // Assess
    expect(result.code).toBe(0);
    expect((await report(result)).method).toBe('co-training');
    const rows = await labels(result);
    expect(rows.length).toBe(1797);
    expect(countBy(rows, 'source').pseudo).toBeGreaterThan(500);
    expect(await digitsAccuracy(rows)).toBeGreaterThanOrEqual(0.75);
  });

  it('reports supervised against semi-supervised accuracy on a 20% holdout', async () => {
    // Act
    const result = await runCli(['--input', DIGITS_CSV, '--holdout', '0.2']);

    // Assess
    expect(result.code).toBe(0);
    const { holdout, parameters } = await report(result);
    expect(parameters.holdout).toBe(0.2);
    expect(holdout).toBeDefined();
    if (!holdout) return;
    expect(holdout.fraction).toBe(0.2);
    expect(holdout.size).toBe(10);
    for (const metrics of [holdout.supervised, holdout.semiSupervised]) {
      expect(metrics.accuracy).toBeGreaterThanOrEqual(0);
      expect(metrics.accuracy).toBeLessThanOrEqual(1);
      expect(metrics.macroF1).toBeGreaterThanOrEqual(0);
      expect(metrics.macroF1).toBeLessThanOrEqual(1);
    }
    // Repeated splits: a verdict only when the 95% interval of the mean difference excludes 0.
    const { difference, verdict } = holdout;
    expect(holdout.given).toBe(50);
    expect(difference.splits).toHaveLength(10);
    expect(difference.low).toBeLessThanOrEqual(difference.estimate);
    expect(difference.high).toBeGreaterThanOrEqual(difference.estimate);
    expect(difference.estimate).toBeCloseTo(holdout.semiSupervised.accuracy - holdout.supervised.accuracy, 12);
    expect(verdict).toBe(difference.low > 0 ? 'helped' : difference.high < 0 ? 'did not help' : 'cannot tell');
    expect(holdout.helped).toBe(verdict === 'helped');
    if (verdict === 'cannot tell') {
      expect(result.stdout).toMatch(
        /^Cannot tell whether semi-supervised learning helped with 50 given labels: .* over 10 splits of 10 held-out labels, .*95% interval .*\. About \d+ given labels would tell\.\n$/,
      );
    } else {
      expect(result.stdout).toMatch(new RegExp(`^Semi-supervised learning ${verdict} on this data: `));
    }
    // Held-out rows are reported as given, with their label.
    expect(countBy(await labels(result), 'source').given).toBe(50);
    // Warnings of the supervised baseline go through the run's warnings, not as raw Node process warnings.
    expect(result.stderr).not.toContain('(node:');
  });

  it('merges --config with the flags, the flags winning', async () => {
    // Prepare
    const config = await writeInput(
      'options.json',
      JSON.stringify({ method: 'label-propagation', neighbors: 7, maxIter: 50 }),
    );

    // Act
    const result = await runCli(['--input', DIGITS_CSV, '--config', config, '--neighbors', '12']);

    // Assess
    expect(result.code).toBe(0);
    const { method, parameters } = await report(result);
    expect(method).toBe('label-propagation');
    expect(parameters).toMatchObject({ method: 'label-propagation', neighbors: 12, maxIter: 50 });
    expect(result.stderrLines).toContain('warning: label propagation did not converge in maxIter=50');
  });
});
