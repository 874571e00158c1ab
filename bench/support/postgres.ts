// PostgreSQL for benchmarks: a database of their own, created through the `postgres`
// database when it is missing.
import pg from 'pg';

export const benchDatabaseUrl =
  process.env.AOS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/aos_bench';

/** The URL of `database` on the same server as `url`. */
export function databaseUrlFor(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Creates the database of `url` if it does not exist; returns `url`. */
export async function ensureDatabase(url: string): Promise<string> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new pg.Client({ connectionString: databaseUrlFor(url, 'postgres') });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((error) => {
        // Another process created it in between.
        if ((error as { code?: string }).code !== '42P04') throw error;
      });
    }
  } finally {
    await admin.end();
  }
  return url;
}

/** Runs statements on `url` with a short-lived connection. */
export async function execOn(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
