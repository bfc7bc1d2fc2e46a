// A cache of esbuild bundles under node_modules/.cache/pseudolabel, keyed by the hash of the bundle itself: a
// changed source gives a new folder, never a stale one. Plain JavaScript, so that bin/ can load it before any
// TypeScript loader exists. Used for the CLI (bin/cliEntry.mjs) and the embedded runner's worker threads
// (lib/pipeline/embedded/workerBundle.ts).
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CACHE = fileURLToPath(new URL('../node_modules/.cache/pseudolabel/', import.meta.url));

/**
 * Builds `entry` (one entry point, ES modules with code splitting, node_modules left external) and returns the
 * file URL of the cached copy of `${entry}.mjs`. Throws where esbuild is missing or the build fails.
 */
export async function cachedBundle(name, entry, source, options = {}) {
  const { build } = await import('esbuild');
  const outdir = `${CACHE}build`;
  const result = await build({
    entryPoints: { [entry]: source },
    bundle: true,
    splitting: true, // modules loaded on use (reduce steps, commands) stay in their own chunks
    write: false,
    outdir,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' }, // ES modules by name: no package.json scope applies under node_modules
    packages: 'external',
    logLevel: 'silent',
    ...options,
  });
  const hash = createHash('sha256');
  for (const file of result.outputFiles) hash.update(relative(outdir, file.path)).update(file.contents);
  const dir = `${CACHE}${name}-${hash.digest('hex').slice(0, 16)}`;
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
  return pathToFileURL(join(dir, `${entry}.mjs`)).href;
}

async function exists(path) {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
