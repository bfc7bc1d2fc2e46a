import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runEmbedded } from '../../lib/hosts/embedded/embeddedRunner.ts';
import type { RunReport } from '../../lib/pipeline/outputs/runReport.ts';
import { parseRunOptions, type RunOptionsInput } from '../../lib/pipeline/runOptions.ts';
import { blobRows, csvText, writeInput } from './support/datasets.ts';
import { parseLabels, removeTempDirs, tempDir } from './support/pipelineHarness.ts';

afterAll(removeTempDirs);

const BASE: RunOptionsInput = { neighborsMode: 'exact', workers: 1, neighbors: 5 };
const THRESHOLD = 0.9;

type Label = ReturnType<typeof parseLabels>[number];

/** Runs the same input twice as dataset versions 1 and 2, the second with `second` options; returns both outputs. */
async function twoRuns(dataset: string, second: RunOptionsInput, prepare?: (stateDir: string) => Promise<void>) {
  const dir = await tempDir();
  const stateDir = join(dir, 'state');
  const rows = blobRows({ n: 300, d: 4, seed: 7, labelledPerClass: 10 });
  const input = await writeInput(dir, 'a.csv', csvText(rows));
  await runEmbedded({ input, out: join(dir, 'out1'), stateDir, options: parseRunOptions(BASE), dataset });
  await prepare?.(stateDir);
  const run2 = await runEmbedded({
    input,
    out: join(dir, 'out2'),
    stateDir,
    options: parseRunOptions({ ...BASE, ...second }),
    dataset,
  });
  const labels = async (out: string) => parseLabels(await readFile(join(dir, out, 'labels.csv'), 'utf8'));
  const report = JSON.parse(await readFile(join(dir, 'out2', 'report.json'), 'utf8')) as RunReport;
  return { rows, run2, first: await labels('out1'), second: await labels('out2'), report };
}

/**
 * The ids a version carries, from its labels.csv: per class its rows of confidence >= threshold, the same
 * number per class (the smallest class's count), most confident first, ties by id.
 */
function carriedIds(version: Label[], threshold: number): Set<string> {
  const byClass = new Map<string, Label[]>();
  for (const row of version) {
    if (row.label === '' || row.confidence < threshold) continue;
    byClass.set(row.label, [...(byClass.get(row.label) ?? []), row]);
  }
  const perClass = Math.min(...[...byClass.values()].map((rows) => rows.length));
  const ids = new Set<string>();
  for (const rows of byClass.values()) {
    rows.sort((a, b) => b.confidence - a.confidence || (a.id < b.id ? -1 : 1));
    for (const row of rows.slice(0, perClass)) ids.add(row.id);
  }
  return ids;
}

describe('rounds across runs (carryForward)', () => {
  it("carries the latest version's confident labels, class-balanced, as source carried; the user's stay given", async () => {
    // Prepare / Act
    const { rows, first, second, report } = await twoRuns('carry-a', {
      carryForward: true,
      carryThreshold: THRESHOLD,
    });

    // Assess
    const userLabelled = new Map(rows.filter((row) => row.label !== null).map((row) => [row.id, row.label]));
    const expected = [...carriedIds(first, THRESHOLD)].filter((id) => !userLabelled.has(id));
    expect(expected.length).toBeGreaterThan(0);
    const carried = second.filter((row) => row.source === 'carried');
    expect(carried.map((row) => row.id).sort()).toEqual(expected.sort());
    const firstLabel = new Map(first.map((row) => [row.id, row.label]));
    for (const row of carried) expect(row.label).toBe(firstLabel.get(row.id));
    const given = second.filter((row) => row.source === 'given');
    expect(new Map(given.map((row) => [row.id, row.label]))).toEqual(userLabelled);
    const last = report.rounds[report.rounds.length - 1];
    const carriedCount = Object.values(last.counts.carried ?? {}).reduce((a, b) => a + b, 0);
    expect(carriedCount).toBe(expected.length);
  });

  it('self-training starts from the carried labels too, reported as carried', async () => {
    // Prepare / Act
    const { rows, second } = await twoRuns('carry-f', {
      method: 'self-training',
      carryForward: true,
      carryThreshold: THRESHOLD,
    });

    // Assess
    const userLabelled = new Map(rows.filter((row) => row.label !== null).map((row) => [row.id, row.label]));
    const given = second.filter((row) => row.source === 'given');
    expect(new Map(given.map((row) => [row.id, row.label]))).toEqual(userLabelled);
    expect(second.filter((row) => row.source === 'carried').length).toBeGreaterThan(0);
  });

  it('--method auto with a holdout searches and scores with the carried labels in training', async () => {
    // Prepare / Act
    const { rows, second, report } = await twoRuns('carry-h', {
      method: 'auto',
      holdout: 0.4,
      carryForward: true,
      carryThreshold: THRESHOLD,
    });

    // Assess: the run trains on carried rows, keeps the user's labels given, and holds out only user labels
    const userLabelled = new Map(rows.filter((row) => row.label !== null).map((row) => [row.id, row.label]));
    expect(second.filter((row) => row.source === 'carried').length).toBeGreaterThan(0);
    const given = second.filter((row) => row.source === 'given');
    expect(new Map(given.map((row) => [row.id, row.label]))).toEqual(userLabelled);
    expect(report.holdout?.size).toBe(12);
  });

  it('refuses a correction file without an id,label header, naming the file', async () => {
    // Prepare / Act
    const attempt = twoRuns('carry-g', {}, async (state) => {
      await mkdir(join(state, 'incoming', 'carry-g', 'confirmed'), { recursive: true });
      await writeFile(join(state, 'incoming', 'carry-g', 'confirmed', 'bad.csv'), 'key,class\nx,owl\n');
    });

    // Assess
    await expect(attempt).rejects.toThrow(/bad\.csv:1: a correction file needs an id,label header/);
  });

  it('a confirmed correction overrides a carried label and a given one, with source confirmed', async () => {
    // Prepare: after version 1, corrections for one row version 1 would carry and for one user-labelled row
    let carriedId = '';
    let givenId = '';
    const dataset = 'carry-b';
    const { second, rows } = await twoRuns(
      dataset,
      { carryForward: true, carryThreshold: THRESHOLD },
      async (state) => {
        const version = parseLabels(await readFile(join(state, 'datasets', dataset, 'versions/1/labels.csv'), 'utf8'));
        const candidates = [...carriedIds(version, THRESHOLD)];
        const sources = new Map(version.map((row) => [row.id, row.source]));
        carriedId = candidates.find((id) => sources.get(id) !== 'given')!;
        givenId = version.find((row) => row.source === 'given')!.id;
        await mkdir(join(state, 'incoming', dataset, 'confirmed'), { recursive: true });
        await writeFile(
          join(state, 'incoming', dataset, 'confirmed', 'fix.csv'),
          `id,label\n${carriedId},owl\n${givenId},zebra\n`,
        );
      },
    );

    // Act: twoRuns ran the second run after the corrections were written

    // Assess
    const byId = new Map(second.map((row) => [row.id, row]));
    expect(byId.get(carriedId)).toMatchObject({ label: 'owl', source: 'confirmed' });
    expect(byId.get(givenId)).toMatchObject({ label: 'zebra', source: 'confirmed' });
    expect(rows.find((row) => row.id === givenId)?.label).not.toBe('zebra');
  });

  it('the holdout scores only the user-given labels, never carried rows', async () => {
    // Prepare / Act: the same data with a holdout, with and without carried labels
    const withCarry = await twoRuns('carry-c', { carryForward: true, carryThreshold: THRESHOLD, holdout: 0.4 });
    const withoutCarry = await twoRuns('carry-d', { holdout: 0.4 });

    // Assess: 30 user labels, 12 held out either way; the carried rows are many more
    const carried = withCarry.second.filter((row) => row.source === 'carried').length;
    expect(carried).toBeGreaterThan(30);
    expect(withCarry.report.holdout?.size).toBe(withoutCarry.report.holdout?.size);
    expect(withCarry.report.holdout?.size).toBe(12);
  });

  it('without carryForward nothing is carried: the second version labels as the first', async () => {
    // Prepare / Act
    const { first, second } = await twoRuns('carry-e', {});

    // Assess
    expect(second.some((row) => row.source === 'carried')).toBe(false);
    expect(second).toEqual(first);
  });
});
