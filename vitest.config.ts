import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/reliability/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PGlite instances are heavy (WASM); forks keep each file's memory separate.
    pool: 'forks',
    // Processes the tests spawn (bin/aos.js) run the sources under test, not a dist/ build.
    env: { AOS_RUN_SOURCES: '1' },
  },
});
