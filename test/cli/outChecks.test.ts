import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blobRows, csvText } from '../pipeline/support/datasets.ts';
import { removeTempDirs, spawnCli, tempDir } from './cliHarness.ts';

/** --out is checked before any work, and an earlier run's outputs there are removed before a run writes. */

afterAll(removeTempDirs);

async function input(dir: string): Promise<string> {
  const path = join(dir, 'data', 'blobs.csv');
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(path, csvText(blobRows({ n: 60, seed: 6 })));
  return path;
}

describe('pseudolabel run --out', () => {
  it('naming an existing file fails at once, before any run starts', async () => {
    // Prepare
    const cwd = await tempDir();
    const data = await input(cwd);
    const file = join(cwd, 'taken.csv');
    await writeFile(file, 'keep me');
    // Act
    const result = await spawnCli(['run', '--input', data, '--out', file, '--neighbors', '5'], cwd);
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([`pseudolabel: cannot write output to ${file}: it is a file, not a directory`]);
    expect(await readdir(cwd)).not.toContain('.pseudolabel');
  });

  it('naming the input directory is refused', async () => {
    // Prepare
    const cwd = await tempDir();
    await input(cwd);
    const dataDir = join(cwd, 'data');
    // Act
    const result = await spawnCli(['run', '--input', dataDir, '--out', dataDir, '--neighbors', '5'], cwd);
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([
      `pseudolabel: cannot write output to ${dataDir}: it is the input; give another directory`,
    ]);
    expect(await readdir(dataDir)).toEqual(['blobs.csv']);
  });

  it('holding an earlier run’s outputs: they are replaced, and a stale rejected.csv is removed', async () => {
    // Prepare
    const cwd = await tempDir();
    const data = await input(cwd);
    const out = join(cwd, 'out');
    await mkdir(out);
    await writeFile(join(out, 'rejected.csv'), 'file,line,reason\nold.csv,2,stale\n');
    await writeFile(join(out, 'labels.csv'), 'stale');
    await writeFile(join(out, 'notes.txt'), 'mine');
    // Act
    const result = await spawnCli(['run', '--input', data, '--out', out, '--neighbors', '5'], cwd);
    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(await readdir(out)).toEqual(['labels.csv', 'notes.txt', 'report.html', 'report.json']);
  });
});
