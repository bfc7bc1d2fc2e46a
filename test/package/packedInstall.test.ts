import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a user installs it: `npm pack` (which builds dist/ through `prepare`), the tarball installed
 * with `npm install --omit=dev` into an empty folder, then the command and the library used from there. Slow (the
 * install fetches the dependencies, from npm's cache when it has them), hence a project of its own.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const npm = (args: string[], cwd: string) => run('npm', [...args, '--no-audit', '--no-fund'], { cwd });

let work: string;
let project: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'pseudolabel-pack-'));
  project = join(work, 'project');
  await mkdir(project);
  const { stdout } = await npm(['pack', '--json', '--pack-destination', work], ROOT);
  const [{ filename }] = JSON.parse(stdout.slice(stdout.indexOf('[')));
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'uses-pseudolabel', private: true }));
  await npm(['install', '--omit=dev', '--prefer-offline', join(work, filename)], project);
}, 900_000);

afterAll(() => rm(work, { recursive: true, force: true }));

/** `node bin/pseudolabel.mjs run` of the repository on examples/digits.csv: the reference labels. */
async function repositoryLabels(): Promise<string> {
  const cwd = join(work, 'repository');
  await mkdir(cwd);
  const input = join(ROOT, 'examples/digits.csv');
  await run(process.execPath, [join(ROOT, 'bin/pseudolabel.mjs'), 'run', '--input', input, '--out', 'out/'], { cwd });
  return readFile(join(cwd, 'out/labels.csv'), 'utf8');
}

describe('the packed package, installed with --omit=dev', () => {
  it('holds no build tools: no esbuild, no tsx, no TypeScript sources', async () => {
    // Prepare
    const installed = join(project, 'node_modules');

    // Act
    const present = async (path: string) =>
      readFile(join(installed, path)).then(
        () => true,
        () => false,
      );

    // Assess
    expect(await present('esbuild/package.json')).toBe(false);
    expect(await present('tsx/package.json')).toBe(false);
    expect(await present('pseudolabel/dist/pseudolabel.mjs')).toBe(true);
    expect(await present('pseudolabel/lib/index.ts')).toBe(false);
    expect(await present('pseudolabel/LICENSE')).toBe(true);
  });

  it('`npx pseudolabel run` labels the digits as the repository does', async () => {
    // Prepare
    const expected = await repositoryLabels();
    const input = join(project, 'node_modules/pseudolabel/examples/digits.csv');

    // Act
    await run('npx', ['pseudolabel', 'run', '--input', input, '--out', 'out-cli/'], { cwd: project });

    // Assess
    expect(await readFile(join(project, 'out-cli/labels.csv'), 'utf8')).toBe(expected);
  });

  it("import('pseudolabel') gives the library (and 'pseudolabel/cli' main): the README example runs and labels the digits the same", async () => {
    // Prepare
    const expected = await readFile(join(project, 'out-cli/labels.csv'), 'utf8').catch(repositoryLabels);
    const example = join(project, 'example');
    await mkdir(example);
    await copyFile(join(ROOT, 'examples/library.mjs'), join(example, 'library.mjs'));
    await copyFile(join(ROOT, 'examples/digits.csv'), join(example, 'digits.csv'));
    await writeFile(join(example, 'package.json'), JSON.stringify({ type: 'module' }));

    // Act
    const { stdout } = await run(process.execPath, ['library.mjs'], { cwd: example });
    const exported = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const p = await import('pseudolabel'); const c = await import('pseudolabel/cli');" +
          "console.log(Object.keys(p).sort().join(' '), '|', typeof c.main)",
      ],
      { cwd: project },
    );

    // Assess
    expect(stdout).toContain('transduction 0 0 0 1 1 1\n');
    expect(await readFile(join(example, 'out/labels.csv'), 'utf8')).toBe(expected);
    expect(exported.stdout.trim()).toBe('ArrayEstimator labelPropagation labelSpreading run selfTraining | function');
  });

  it('types the library for TypeScript users', async () => {
    // Prepare
    const source = [
      "import { labelSpreading, run, type RunReport } from 'pseudolabel';",
      "const labels: number[] = labelSpreading({ kernel: 'knn', nNeighbors: 2 }).fit([[0], [1]], [0, -1]).transduction;",
      "const report: Promise<RunReport> = run({ input: 'a.csv', out: 'out/', method: 'label-spreading' });",
      'export { labels, report };',
    ].join('\n');
    await writeFile(join(project, 'uses.ts'), source);
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext'];

    // Act
    const result = run(
      process.execPath,
      [tsc, ...flags, '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), 'uses.ts'],
      { cwd: project },
    );

    // Assess
    await expect(result).resolves.toBeDefined();
  });
});
