// Setup file (vitest.config.ts), run in each worker before its test file: DATABASE_URL names
// this worker's own database (tests/support/worker-databases.ts), for the file and for every
// process it spawns.
import { inject } from 'vitest';

const url = inject('workerDatabaseUrls')[Number(process.env.VITEST_POOL_ID) - 1];
if (url) process.env.DATABASE_URL = url;
