import { fileURLToPath } from 'node:url';
import { cachedBundle } from '../../bundleCache.mjs';

/**
 * The entry of the embedded runner's worker threads. Loading the TypeScript sources through tsx costs each
 * thread about a second (every module goes through the loader hooks), so the stage worker is bundled by
 * esbuild into ES modules (dependencies stay in node_modules, but for INLINED_PACKAGES; reduce steps in chunks
 * loaded on use), cached by lib/bundleCache.mjs. Where esbuild is missing or fails, the threads load the
 * sources through tsx as before.
 */
const SOURCE = fileURLToPath(new URL('./stageWorker.ts', import.meta.url));
const TSX_ENTRY = new URL('./stageWorker.mjs', import.meta.url).href;

let bundled: Promise<string> | undefined;

export function stageWorkerEntry(): Promise<string> {
  bundled ??= bundleStageWorker().catch(() => TSX_ENTRY);
  return bundled;
}

function bundleStageWorker(): Promise<string> {
  return cachedBundle('stageWorker', 'stageWorker', SOURCE);
}
