import { defineConfig } from 'vitest/config';
import { spawnedCliEnv } from './tests/support/spawned-cli.ts';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/reliability/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PGlite instances are heavy (WASM); forks keep each file's memory separate.
    pool: 'forks',
    // Files run two at a time (vitest's default on two cores is one): most of their time is
    // spent waiting on PostgreSQL, Kafka, servers and child processes. Each worker has its own
    // PostgreSQL database; every test's in-memory PGlite starts from one data folder initialised
    // for the run.
    maxWorkers: 2,
    globalSetup: ['tests/support/pglite-template.ts', 'tests/support/worker-databases.ts'],
    setupFiles: ['tests/support/worker-database.ts'],
    // Processes the tests spawn (bin/aos.js) run the sources under test, or a dist/ built
    // from them when AOS_TEST_USE_DIST=1 (tests/support/spawned-cli.ts).
    env: spawnedCliEnv(import.meta.dirname),
  },
});
