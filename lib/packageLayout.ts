import { fileURLToPath } from 'node:url';

/**
 * Where the package's own files are. A module directly in lib/ (the TypeScript sources: tests, tsx) and its code
 * bundled into dist/ (scripts/build.mjs puts every bundle and chunk directly in dist/) both sit one folder below
 * the package root, so this module finds it the same way in both trees.
 */
const PACKAGE_ROOT_URL = new URL('../', import.meta.url);

/** The repository root, or the installed package's folder (node_modules/pseudolabel). */
export const PACKAGE_ROOT = fileURLToPath(PACKAGE_ROOT_URL);

/**
 * A file of dist/ (the worker threads' bundle, the --task-memory process's entry). The sources load the built
 * bundles too: `npm run build` makes them, and the tests' global setup (test/buildBundles.ts) rebuilds them from
 * the current sources before any test runs.
 */
export function builtFile(name: string): URL {
  return new URL(`dist/${name}`, PACKAGE_ROOT_URL);
}
