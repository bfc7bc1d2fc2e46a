import { defineConfig } from 'vitest/config';

/** Every project first rebuilds dist/'s bundles from the sources (test/buildBundles.ts). */
const BUILD = 'test/buildBundles.ts';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**', 'test/package/**', '**/node_modules/**'],
          globalSetup: [BUILD],
        },
      },
      {
        // Against a real LocalStack: the global setup starts it (creating its venv on first use) unless one
        // is already healthy, provisions the resources, and stops what it started.
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: [BUILD, 'test/integration/globalSetup.ts'],
        },
      },
      {
        // The packed package installed as a user installs it (npm pack, npm install --omit=dev): slow, its own
        // project. It builds through npm pack (prepare), so it needs no global setup.
        extends: true,
        test: { name: 'package', include: ['test/package/**/*.test.ts'], testTimeout: 600_000 },
      },
    ],
  },
});
