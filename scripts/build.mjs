#!/usr/bin/env node
// Builds dist/, what the package ships and runs (`npm run build`; npm runs it as `prepare` after `npm ci` and
// as `prepack` before `npm pack`/`npm publish`):
//   dist/pseudolabel.mjs      the `pseudolabel` command (package.json `bin`)
//   dist/cli.mjs              `pseudolabel/cli`: main(argv), the command as a function
//   dist/index.mjs            `pseudolabel`: the library (lib/index.ts)
//   dist/stageWorker.mjs      the embedded runner's worker threads, and the task of a --task-memory process,
//   dist/taskProcessEntry.mjs    which that process starts with (lib/hosts/embedded/taskProcess.ts)
//   dist/chunk-*.mjs          code shared by the entries, or loaded on use (commands, reduce steps)
//   dist/constraints.txt      pip constraints of `pseudolabel localstack up` (read next to the code)
//   dist/types/               the library's .d.ts (tsc), unless --bundles-only
// Every module of lib/ lands directly in dist/, so lib/packageLayout.ts finds the package root one folder up in
// both trees. Packages stay external (package.json `dependencies`), except INLINED_PACKAGES. Nothing builds at
// run time: an installed package has neither esbuild nor the TypeScript sources.
//
// `--bundles-only` (the tests' global setup, test/buildBundles.ts) skips the declarations, and writes only the
// files whose bytes changed, each atomically, so concurrent test runs in one checkout never see a half-written
// bundle and an unchanged tree rebuilds in about a second.
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');

const ENTRIES = {
  pseudolabel: 'lib/cli/bin.ts',
  cli: 'lib/cli/main.ts',
  index: 'lib/index.ts',
  stageWorker: 'lib/hosts/embedded/stageWorker.ts',
  taskProcessEntry: 'lib/hosts/embedded/taskProcessEntry.mjs',
};

/** Files read next to the code at run time (`new URL(name, import.meta.url)`), copied into dist/. */
const COPIED = { 'constraints.txt': 'lib/localstack/constraints.txt' };

/**
 * Packages copied into the bundles, with everything they import, rather than loaded from node_modules: resolving
 * and compiling their many module files was most of a thread's start-up. zod (99 files, loaded by the CLI and
 * every worker thread): 79 ms, about 30 ms bundled. vega and vega-lite (the report's charts, some 400 files):
 * 215 ms, 75 ms bundled. Pure ES modules that read no files of their own.
 */
const INLINED_PACKAGES = new Set(['zod', 'vega', 'vega-lite']);

/**
 * Packages the library's .d.ts name (zod: RunOptions is zod's inferred type) without the bundles importing
 * them, so they are dependencies too: a TypeScript user of the package needs them.
 */
const TYPE_ONLY_DEPENDENCIES = new Set(['zod']);

/** Optional packages an inlined one tries to load, inside a try (vega-canvas: `await import('canvas')`). */
const OPTIONAL_IMPORTS = new Set(['canvas']);

/** Our source folders (the CLI's `worker` command runs lib/hosts/serverless): any other importer is a file of an inlined package. */
const OWN_SOURCES = ['lib', 'functions'].map((dir) => join(ROOT, dir) + sep);

/** Leaves bare imports (packages, node: builtins) of our sources external, but INLINED_PACKAGES. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!OWN_SOURCES.some((dir) => args.importer.startsWith(dir))) return undefined; // a file of an inlined package: esbuild resolves it
      return INLINED_PACKAGES.has(packageName(args.path)) ? undefined : { path: args.path, external: true };
    });
  },
};

function packageName(specifier) {
  return specifier.startsWith('@') ? specifier.split('/', 2).join('/') : specifier.split('/')[0];
}

async function buildBundles() {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, source]) => [name, join(ROOT, source)])),
    bundle: true,
    splitting: true, // modules loaded on use (reduce steps, commands) stay in their own chunks
    write: false,
    metafile: true,
    outdir: DIST,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' }, // ES modules by name: no package.json scope applies under node_modules
    logLevel: 'warning',
    plugins: [externalPackages],
  });
  await checkDependencies(result.metafile);
  const files = new Map(result.outputFiles.map((file) => [relative(DIST, file.path), file.contents]));
  for (const [name, source] of Object.entries(COPIED)) files.set(name, await readFile(join(ROOT, source)));
  await writeChanged(files);
}

/**
 * The bundles' external imports must be exactly package.json's `dependencies` (plus TYPE_ONLY_DEPENDENCIES):
 * a missing one breaks an installed package, an extra one installs for nothing.
 */
async function checkDependencies(metafile) {
  const imported = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const { path, external } of output.imports) {
      const name = packageName(path);
      if (external && !isBuiltin(path) && !OPTIONAL_IMPORTS.has(name)) imported.add(name);
    }
  }
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  const declared = new Set(Object.keys(manifest.dependencies ?? {}));
  const missing = [...imported].filter((name) => !declared.has(name));
  const unused = [...declared].filter((name) => !imported.has(name) && !TYPE_ONLY_DEPENDENCIES.has(name));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `package.json dependencies differ from what dist/ imports: missing ${missing.join(', ') || 'none'}; ` +
        `not imported ${unused.join(', ') || 'none'}`,
    );
  }
}

/** Writes the files whose bytes changed (each under a temporary name, then renamed), deletes stale bundles. */
async function writeChanged(files) {
  await mkdir(DIST, { recursive: true });
  for (const [name, contents] of files) {
    const target = join(DIST, name);
    const current = await readFile(target).catch(() => undefined);
    if (current !== undefined && Buffer.compare(current, contents) === 0) continue;
    await mkdir(dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.tmp`;
    await writeFile(temporary, contents);
    await rename(temporary, target);
  }
  for (const entry of await readdir(DIST, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.mjs') && !files.has(entry.name)) {
      await rm(join(DIST, entry.name), { force: true });
    }
  }
}

/** The declarations of lib/index.ts and lib/cli/main.ts and what they import (tsconfig.build.json) into dist/types/lib/. */
async function buildDeclarations() {
  await rm(join(DIST, 'types'), { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
}

const bundlesOnly = process.argv.includes('--bundles-only');
await buildBundles();
if (!bundlesOnly) await buildDeclarations();
