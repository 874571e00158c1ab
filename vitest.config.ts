import { availableParallelism } from 'node:os';
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
    // vitest's default, one file at a time per core but one, yet at least two at a time (on two
    // cores the default is one): most of a file's time is spent waiting on PostgreSQL, Kafka,
    // servers and child processes. Each worker has its own PostgreSQL database; every test's
    // in-memory PGlite starts from one data folder initialised for the run.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    globalSetup: ['tests/support/pglite-template.ts', 'tests/support/worker-databases.ts'],
    setupFiles: ['tests/support/worker-database.ts'],
    // Processes the tests spawn (bin/aos.js) run the sources under test, or a dist/ built
    // from them when AOS_TEST_USE_DIST=1 (tests/support/spawned-cli.ts).
    env: spawnedCliEnv(import.meta.dirname),
  },
});
