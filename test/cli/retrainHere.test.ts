import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSimpleCsv, removeTempDirs, repoPath, spawnCli, tempDir } from './cliHarness.ts';

/**
 * `pseudolabel retrain <dataset> --out <dir>` over the state directory (no services): it retrains a dataset made by
 * `pseudolabel run --dataset` from the same --input with the same options, only when a file or a correction
 * changed since the latest version.
 */

afterAll(removeTempDirs);

/** examples/digits.csv split in two files: the header and rows [from, to) of each. */
async function digitsRows(): Promise<{ header: string; rows: string[] }> {
  const [header, ...rows] = (await readFile(repoPath('examples/digits.csv'), 'utf8')).trimEnd().split('\n');
  return { header, rows };
}

async function versionsOf(dir: string, dataset: string): Promise<string[]> {
  return (await readdir(join(dir, '.pseudolabel', 'datasets', dataset, 'versions'))).sort();
}

describe('pseudolabel retrain over the state directory', () => {
  it('starts nothing when nothing changed, retrains when a file is added or a correction is dropped', async () => {
    const dir = await tempDir();
    const data = join(dir, 'data');
    await mkdir(data);
    const { header, rows } = await digitsRows();
    await writeFile(join(data, 'a.csv'), `${[header, ...rows.slice(0, 1000)].join('\n')}\n`);
    const out = join(dir, 'out');
    const first = await spawnCli(['run', '--input', data, '--out', out, '--dataset', 'dg', '--neighbors', '8'], dir);
    expect(first.code, first.stderr).toBe(0);

    const unchanged = await spawnCli(['retrain', 'dg', '--out', out], dir);
    expect(unchanged.code, unchanged.stderr).toBe(0);
    expect(unchanged.stderr).toContain('nothing changed in dataset dg since version 1');
    expect(await versionsOf(dir, 'dg')).toEqual(['1']);

    await writeFile(join(data, 'b.csv'), `${[header, ...rows.slice(1000)].join('\n')}\n`);
    const grown = await spawnCli(['retrain', 'dg', '--out', out], dir);
    expect(grown.code, grown.stderr).toBe(0);
    expect(await versionsOf(dir, 'dg')).toEqual(['1', '2']);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    // The options of the first run (--neighbors 8), both files, and the change against version 1.
    expect(report.parameters.neighbors).toBe(8);
    expect(report.n).toBe(rows.length);
    expect(report.changes.added).toBe(rows.length - 1000);
    expect(report.incremental).toMatchObject({ baseVersion: 1, lists: { reused: true } });
    expect(report.incremental.shards.reused).toBeGreaterThan(0);

    expect((await spawnCli(['retrain', 'dg', '--out', out], dir)).stderr).toContain('since version 2');

    const corrections = join(dir, '.pseudolabel', 'incoming', 'dg', 'confirmed');
    await mkdir(corrections, { recursive: true });
    const id = rows[0].split(',')[0];
    await writeFile(join(corrections, 'fix.csv'), `id,label\n${id},7\n`);
    const corrected = await spawnCli(['retrain', 'dg', '--out', out], dir);
    expect(corrected.code, corrected.stderr).toBe(0);
    expect(await versionsOf(dir, 'dg')).toEqual(['1', '2', '3']);
    const row = parseSimpleCsv(await readFile(join(out, 'labels.csv'), 'utf8')).find((r) => r.id === id);
    expect(row).toMatchObject({ label: '7', source: 'confirmed' });

    await rm(join(data, 'b.csv'));
    const shrunk = await spawnCli(['retrain', 'dg', '--out', out], dir);
    expect(shrunk.code, shrunk.stderr).toBe(0);
    expect(await versionsOf(dir, 'dg')).toEqual(['1', '2', '3', '4']);
    expect(JSON.parse(await readFile(join(out, 'report.json'), 'utf8')).n).toBe(1000);
  });

  it('reads only the file the dataset was made from, not its neighbours in the folder', async () => {
    const dir = await tempDir();
    const { header, rows } = await digitsRows();
    const file = join(dir, 'a.csv');
    await writeFile(file, `${[header, ...rows.slice(0, 600)].join('\n')}\n`);
    const out = join(dir, 'out');
    expect((await spawnCli(['run', '--input', file, '--out', out, '--dataset', 'one'], dir)).code).toBe(0);
    await writeFile(join(dir, 'other.csv'), `${[header, ...rows.slice(600)].join('\n')}\n`);
    const again = await spawnCli(['retrain', 'one', '--out', out], dir);
    expect(again.stderr).toContain('nothing changed in dataset one since version 1');
  });

  it('refuses without --out, a dataset with no version, and --out on the pipeline, naming what to do', async () => {
    const dir = await tempDir();
    const noOut = await spawnCli(['retrain', 'dg'], dir);
    expect(noOut.code).not.toBe(0);
    expect(noOut.stderr).toContain('needs --out <dir>');
    const none = await spawnCli(['retrain', 'dg', '--out', join(dir, 'out')], dir);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('dataset dg has no version in .pseudolabel');
    expect(none.stderr).toContain('pseudolabel run --input <dir> --out <dir> --dataset dg');
    const pipelineOut = await spawnCli(['retrain', 'dg', '--store', 's3://bucket', '--out', join(dir, 'out')], dir);
    expect(pipelineOut.code).not.toBe(0);
    expect(pipelineOut.stderr).toContain('--out is for a retrain over a state directory');
  });
});
