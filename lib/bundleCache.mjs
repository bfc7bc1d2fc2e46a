// A cache of esbuild bundles under node_modules/.cache/pseudolabel, keyed by the hash of the bundle itself: a
// changed source gives a new folder, never a stale one. A small record per state of the sources (their paths,
// sizes and mtimes) names the bundle built from them, so an unchanged tree starts without running esbuild.
// Plain JavaScript, so that bin/ can load it before any TypeScript loader exists. Used for the CLI (bin/cliEntry.mjs) and the embedded runner's worker threads
// (lib/pipeline/embedded/workerBundle.ts).
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CACHE = fileURLToPath(new URL('../node_modules/.cache/pseudolabel/', import.meta.url));
const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** What a bundle is built from: the sources (and INLINED_PACKAGES, whose versions the lock file pins). */
const INPUTS = ['lib', 'functions', 'package-lock.json'];

/**
 * Builds `entry` (one entry point, ES modules with code splitting, packages external except INLINED_PACKAGES)
 * and returns the file URL of the cached copy of `${entry}.mjs`. Throws where esbuild is missing or the build fails.
 */
export async function cachedBundle(name, entry, source, options = {}) {
  // As make does: while no input file changed (path, size and mtime), the bundle built last time is reused
  // without running esbuild (about 0.23 s of every run's start-up for the CLI and the worker bundles).
  const record = `${CACHE}${name}-${entry}-${inputsStamp(source)}.built`;
  const known = await readFile(record, 'utf8').catch(() => undefined);
  if (known !== undefined && (await exists(fileURLToPath(known)))) return known;
  const url = await buildBundle(name, entry, source, options);
  await writeAtomically(record, url);
  return url;
}

/** Builds the bundle and stores it under the hash of its output files; returns the entry's file URL. */
async function buildBundle(name, entry, source, options) {
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
    logLevel: 'silent',
    ...options,
    plugins: [externalPackages, ...(options.plugins ?? [])],
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

/**
 * Packages copied into the bundle, with everything they import, rather than loaded from node_modules: resolving
 * and compiling their many module files was most of a thread's start-up. zod (99 files, loaded by the CLI and
 * every worker thread): 79 ms, about 30 ms bundled. vega and vega-lite (the report's charts, some 400 files):
 * 215 ms, 75 ms bundled. Pure ES modules that read no files of their own; every other package stays external.
 */
const INLINED_PACKAGES = new Set(['zod', 'vega', 'vega-lite']);

/** Our source folders: any other importer is a file of an inlined package (the others are never read). */
const OWN_SOURCES = ['lib', 'functions'].map((dir) => join(ROOT, dir) + sep);

/** Leaves bare imports (packages, node: builtins) external, except INLINED_PACKAGES and what they import. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!OWN_SOURCES.some((dir) => args.importer.startsWith(dir))) return undefined; // esbuild resolves it
      const name = args.path.startsWith('@') ? args.path.split('/', 2).join('/') : args.path.split('/')[0];
      return INLINED_PACKAGES.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

/** A hash of the path, size and mtime of every file the bundles depend on, and of the entry point. */
function inputsStamp(source) {
  const hash = createHash('sha256').update(source);
  const visit = (path) => {
    const info = statSync(path, { throwIfNoEntry: false });
    if (info === undefined) return;
    if (info.isDirectory()) {
      for (const child of readdirSync(path).sort()) visit(join(path, child));
      return;
    }
    hash.update(`${relative(ROOT, path)}\0${info.size}\0${info.mtimeMs}\n`);
  };
  for (const input of INPUTS) visit(join(ROOT, input));
  return hash.digest('hex').slice(0, 16);
}

async function writeAtomically(path, text) {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Date.now()}`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

async function exists(path) {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
