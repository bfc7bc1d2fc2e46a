#!/usr/bin/env node
// The repository's launcher of the built command (tests and benchmarks spawn it): dist/pseudolabel.mjs, which
// `npm ci` (prepare) and `npm run build` make, and the tests' global setup rebuilds from the current sources.
// The installed package runs dist/pseudolabel.mjs directly (package.json `bin`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/pseudolabel.mjs', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(`pseudolabel: ${fileURLToPath(built)} is missing: run \`npm run build\`\n`);
  process.exit(1);
}
await import(built.href);
