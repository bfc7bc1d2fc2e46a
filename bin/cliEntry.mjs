// The CLI's entry module: an esbuild bundle of lib/cli/main.ts, cached under node_modules/.cache/pseudolabel by
// the hash of the bundle (so a changed source gives a new folder, never a stale one), or the TypeScript source
// through tsx where esbuild is missing or fails. Loading the sources through tsx's loader hooks cost about
// 0.5 s per run plus the reduce steps loaded later; the build takes about 70 ms. The same scheme as the
// embedded runner's worker bundle (lib/pipeline/embedded/workerBundle.ts).
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SOURCE = fileURLToPath(new URL('../lib/cli/main.ts', import.meta.url));
const LIB = fileURLToPath(new URL('../lib/', import.meta.url));
const CACHE = fileURLToPath(new URL('../node_modules/.cache/pseudolabel/', import.meta.url));

/** The URL of the module that exports `main`. */
export async function cliEntry() {
  try {
    return await bundledCli();
  } catch {
    const { register } = await import('tsx/esm/api');
    register();
    return pathToFileURL(SOURCE).href;
  }
}

/**
 * Modules that find files next to themselves (the LocalStack constraints, the worker's sources) read
 * import.meta.url; in the bundle it would name the bundle, so each source's own URL is written in its place.
 */
const sourceUrls = {
  name: 'source-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const contents = await readFile(args.path, 'utf8');
      if (!args.path.startsWith(LIB)) return { contents, loader: 'ts' };
      return {
        contents: contents.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
        loader: 'ts',
      };
    });
  },
};

async function bundledCli() {
  const { build } = await import('esbuild');
  const outdir = `${CACHE}build`;
  const result = await build({
    entryPoints: { main: SOURCE },
    bundle: true,
    splitting: true, // commands and reduce steps stay in chunks loaded on use
    write: false,
    outdir,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' }, // ES modules by name: no package.json scope applies under node_modules
    packages: 'external',
    plugins: [sourceUrls],
    logLevel: 'silent',
  });
  const hash = createHash('sha256');
  for (const file of result.outputFiles) hash.update(relative(outdir, file.path)).update(file.contents);
  const dir = `${CACHE}cli-${hash.digest('hex').slice(0, 16)}`;
  if (!(await exists(dir))) {
    const temporary = `${dir}.${process.pid}.${Date.now()}`;
    for (const file of result.outputFiles) {
      const target = join(temporary, relative(outdir, file.path));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.contents);
    }
    // Atomic: concurrent runs never load a half-written bundle; the loser of a race keeps the winner's copy.
    await rename(temporary, dir).catch(() => rm(temporary, { recursive: true, force: true }));
  }
  return pathToFileURL(join(dir, 'main.mjs')).href;
}

async function exists(path) {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
