// PostgreSQL for tests: each suite gets its own schema in DATABASE_URL's database (under
// vitest.config.ts, its worker's own: tests/support/worker-databases.ts).
// AOS_TEST_REQUIRE is a comma list of services (postgres,kafka,prometheus): a named one that is
// unreachable fails the run (CI) instead of skipping its tests.
import { randomUUID } from 'node:crypto';
import pg from 'pg';

export const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/aos_test';
export const requiredServices = (process.env.AOS_TEST_REQUIRE ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const required = requiredServices.includes('postgres');

let reachable: Promise<boolean> | undefined;

export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (error) {
      if (required) {
        throw new Error(
          `AOS_TEST_REQUIRE includes postgres but PostgreSQL at ${databaseUrl} is unreachable: ${error}`,
        );
      }
      console.warn(
        `PostgreSQL at ${databaseUrl} unreachable: its tests do not run (set AOS_TEST_REQUIRE=postgres to fail)`,
      );
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachable;
}

/** Creates a fresh schema; returns its name and a function that drops it. */
export async function createTestSchema(
  url = databaseUrl,
): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  return {
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}
