// The CLI's entry module: an esbuild bundle of lib/cli/main.ts (lib/bundleCache.mjs), or the TypeScript source
// through tsx where esbuild is missing or fails. Loading the sources through tsx's loader hooks cost about
// 0.5 s per run plus the reduce steps loaded later; the build takes about 70 ms.
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cachedBundle } from '../lib/bundleCache.mjs';

const SOURCE = fileURLToPath(new URL('../lib/cli/main.ts', import.meta.url));
const LIB = fileURLToPath(new URL('../lib/', import.meta.url));

/** The URL of the module that exports `main`. */
export async function cliEntry() {
  try {
    return await cachedBundle('cli', 'main', SOURCE, { plugins: [sourceUrls] });
  } catch {
    const { register } = await import('tsx/esm/api');
    register();
    return pathToFileURL(SOURCE).href;
  }
}

/**
 * Modules that find files next to themselves (the LocalStack constraints, the worker's sources, the bundle
 * cache) read import.meta.url; in the bundle it would name the bundle, so each source's own URL is written in
 * its place.
 */
const sourceUrls = {
  name: 'source-urls',
  setup(build) {
    build.onLoad({ filter: /\.(ts|mjs)$/ }, async (args) => {
      const contents = await readFile(args.path, 'utf8');
      const loader = args.path.endsWith('.ts') ? 'ts' : 'js';
      if (!args.path.startsWith(LIB)) return { contents, loader };
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: contents.replaceAll('import.meta.url', url), loader };
    });
  },
};
