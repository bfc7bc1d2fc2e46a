import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * README.md's library example is examples/library.mjs, run here as a user runs it: `node examples/library.mjs`
 * imports 'pseudolabel' by name (the package's own exports: dist/, which the global setup rebuilt).
 */
const ROOT = new URL('../../', import.meta.url);
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe("README's library example", () => {
  it('is examples/library.mjs, word for word', async () => {
    // Prepare
    const readme = await readFile(new URL('README.md', ROOT), 'utf8');
    const example = await readFile(new URL('examples/library.mjs', ROOT), 'utf8');

    // Act
    const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]);

    // Assess
    expect(blocks).toContain(example);
  });

  it('runs: labels the toy arrays and the digits', async () => {
    // Prepare
    const cwd = await mkdtemp(join(tmpdir(), 'pseudolabel-library-'));
    dirs.push(cwd);

    // Act
    const { stdout } = await promisify(execFile)(process.execPath, [new URL('examples/library.mjs', ROOT).pathname], {
      cwd,
    });

    // Assess
    expect(stdout).toContain('transduction 0 0 0 1 1 1\n');
    expect(stdout).toContain('predict 0 1\n');
    expect(stdout).toContain('label-spreading labelled 1797 rows of 10 classes');
    const labels = (await readFile(join(cwd, 'out/labels.csv'), 'utf8')).trim().split('\n');
    expect(labels[0]).toBe('id,label,confidence,source');
    expect(labels).toHaveLength(1798);
  });
});
