import { defineConfig } from 'vitest/config';
import { spawnedCliEnv } from './tests/support/spawned-cli.ts';

// Reliability scenarios kill servers and restart databases: one file at a time.
export default defineConfig({
  test: {
    include: ['tests/reliability/**/*.test.ts'],
    globalSetup: ['tests/reliability/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Processes the tests spawn (bin/aos.js) run the sources under test, or a dist/ built
    // from them when AOS_TEST_USE_DIST=1 (tests/support/spawned-cli.ts).
    env: spawnedCliEnv(import.meta.dirname),
  },
});
