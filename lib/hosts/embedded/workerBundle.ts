import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builtFile } from '../../packageLayout.ts';

/**
 * The entry of the embedded runner's worker threads and --task-memory processes: the stage worker
 * (stageWorker.ts) bundled into dist/stageWorker.mjs by `npm run build` (scripts/build.mjs), ES modules with
 * zod inlined and reduce steps in chunks loaded on use. A thread loading the TypeScript sources through a loader
 * would spend about a second on start-up; nothing is built at run time. Tests run the sources but load this
 * bundle: their global setup (test/buildBundles.ts) rebuilds it from the current sources first.
 */
export async function stageWorkerEntry(): Promise<string> {
  const entry = builtFile('stageWorker.mjs');
  if (!existsSync(entry)) {
    throw new Error(`the worker bundle ${fileURLToPath(entry)} is missing: run \`npm run build\``);
  }
  return entry.href;
}
