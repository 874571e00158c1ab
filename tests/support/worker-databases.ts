// Global setup (vitest.config.ts): a PostgreSQL database per test worker, beside DATABASE_URL's
// (its name with _w1, _w2, …), so that files running at the same time share no database: a
// write transaction one of them holds open holds back no other file's gap-free readers and is
// the blocker no other file sees. Each file still gets its own schema in its worker's database
// (tests/support/postgres.ts); tests/support/worker-database.ts points each worker at its own.
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { databaseUrl } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The database URL of each worker (VITEST_POOL_ID 1 first); empty when PostgreSQL is unreachable. */
    workerDatabaseUrls: string[];
  }
}

export async function setup(project: TestProject) {
  const workers = Array.from({ length: project.config.maxWorkers }, (_, i) => {
    const url = new URL(databaseUrl);
    url.pathname = `${url.pathname}_w${i + 1}`;
    return url;
  });
  const admin = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    // Unreachable: the tests that need PostgreSQL skip, or fail under AOS_TEST_REQUIRE (postgres.ts).
    project.provide('workerDatabaseUrls', []);
    return;
  }
  try {
    for (const url of workers) {
      const name = url.pathname.slice(1);
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    }
  } finally {
    await admin.end();
  }
  project.provide(
    'workerDatabaseUrls',
    workers.map((url) => url.toString()),
  );
}
