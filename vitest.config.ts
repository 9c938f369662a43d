import { defineConfig } from 'vitest/config';

/**
 * Three layers, one vitest project each (`vitest run --project <name>`; `npm test` runs all three):
 * - unit: pure code, no Redis, no build, no network, no processes. Seconds.
 * - integration: in process, against a real Redis and the HTTP sandbox.
 * - e2e: real worker and receiver processes from dist/, so the build runs first.
 *
 * Global setups belong to the projects that need them (vitest runs a project's global setup only
 * when that project has files to run; the root config must have none, since the root's always runs).
 * Integration and e2e share one Redis (test/support/global-redis.ts). Projects inherit the options
 * below (`extends: true`), the leak check included.
 */
export default defineConfig({
  test: {
    setupFiles: ['test/support/leak-check.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: end-to-end files spawn worker processes; running more files at once only thrashes.
    // One pool for every project, so a whole run never has more than two files going.
    maxWorkers: 2,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-redis.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/global-build.ts', 'test/support/global-redis.ts'],
        },
      },
    ],
  },
});
