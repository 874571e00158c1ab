import { defineConfig } from 'vitest/config';

// Reliability scenarios kill servers and restart databases: one file at a time.
export default defineConfig({
  test: {
    include: ['tests/reliability/**/*.test.ts'],
    globalSetup: ['tests/reliability/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Processes the tests spawn (bin/aos.js) run the sources under test, not a dist/ build.
    env: { AOS_RUN_SOURCES: '1' },
  },
});
