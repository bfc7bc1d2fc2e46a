import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Vitest global setup: rebuilds dist/'s bundles from the current sources (scripts/build.mjs --bundles-only, only
 * changed files rewritten), so the tests that run the CLI (bin/pseudolabel.mjs) or the embedded runner's worker
 * threads (dist/stageWorker.mjs) test these sources, never a stale build.
 */
export default function setup(): void {
  const script = fileURLToPath(new URL('../scripts/build.mjs', import.meta.url));
  execFileSync(process.execPath, [script, '--bundles-only'], { stdio: 'inherit' });
}
