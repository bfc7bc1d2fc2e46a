import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/integration/**', '**/node_modules/**'] },
      },
      {
        // Against a real LocalStack: the global setup starts it (creating its venv on first use) unless one
        // is already healthy, provisions the resources, and stops what it started.
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/globalSetup.ts'],
        },
      },
    ],
  },
});
