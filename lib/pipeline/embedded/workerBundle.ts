import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The entry of the embedded runner's worker threads. Loading the TypeScript sources through tsx costs each
 * thread about a second (every module goes through the loader hooks), so the stage worker is bundled by
 * esbuild into ES modules (dependencies stay in node_modules; reduce steps in chunks loaded on use) and cached
 * under node_modules/.cache by the hash of the output: a changed source gives a new folder, never a stale one. Where esbuild is missing or fails,
 * the threads load the sources through tsx as before.
 */
const SOURCE = fileURLToPath(new URL('./stageWorker.ts', import.meta.url));
const TSX_ENTRY = new URL('./stageWorker.mjs', import.meta.url).href;
const CACHE = fileURLToPath(new URL('../../../node_modules/.cache/pseudolabel/', import.meta.url));

let bundled: Promise<string> | undefined;

export function stageWorkerEntry(): Promise<string> {
  bundled ??= bundleStageWorker().catch(() => TSX_ENTRY);
  return bundled;
}

async function bundleStageWorker(): Promise<string> {
  const { build } = await import('esbuild');
  const outdir = `${CACHE}build`;
  const result = await build({
    entryPoints: { stageWorker: SOURCE },
    bundle: true,
    splitting: true, // reduce steps stay in chunks that shard tasks never load (executeTask.ts)
    write: false,
    outdir,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' }, // ES modules by name: no package.json scope applies under node_modules
    packages: 'external',
    logLevel: 'silent',
  });
  const hash = createHash('sha256');
  for (const file of result.outputFiles) hash.update(file.path).update(file.contents);
  const dir = `${CACHE}stageWorker-${hash.digest('hex').slice(0, 16)}`;
  if (!(await exists(dir))) {
    const temporary = `${dir}.${process.pid}.${Date.now()}`;
    for (const file of result.outputFiles) {
      await mkdir(dirname(join(temporary, relative(outdir, file.path))), { recursive: true });
      await writeFile(join(temporary, relative(outdir, file.path)), file.contents);
    }
    // Atomic: concurrent runs never load a half-written bundle; the loser of a race keeps the winner's copy.
    await rename(temporary, dir).catch(() => rm(temporary, { recursive: true, force: true }));
  }
  return pathToFileURL(join(dir, 'stageWorker.mjs')).href;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
