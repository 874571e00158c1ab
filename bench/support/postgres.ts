// PostgreSQL for benchmarks: a database of their own, created through the `postgres`
// database when it is missing. One setting, as everywhere: `DATABASE_URL` (default
// postgres://postgres@127.0.0.1:5432/aos_bench). Every suite's schema carries `AOS_BENCH_PREFIX`
// (default `bench`), and the peers' databases (Emmett, DBOS; DBOS's is dropped and created anew)
// and the idle server's (`_idle`, created anew and dropped after) are named after both
// (`<database>_<prefix>_emmett`, `<database>_<prefix>_dbos`), so two benches
// given another database or prefix never touch each other's data. Ports are chosen by the system,
// files live in fresh temp folders, Kafka topics are named afresh (`KAFKA_BROKERS`).
import pg from 'pg';

export const benchDatabaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/aos_bench';

const prefix = process.env.AOS_BENCH_PREFIX ?? 'bench';
if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) {
  throw new Error(`AOS_BENCH_PREFIX must be a lower-case SQL identifier, not ${JSON.stringify(prefix)}`);
}

/** The schema a suite measures in: `<AOS_BENCH_PREFIX>_<name>`. */
export const benchSchema = (name: string) => `${prefix}_${name}`;

/** A peer's own database on the bench server: `<bench database>_<AOS_BENCH_PREFIX>_<peer>`. */
export function peerDatabaseUrl(peer: string): string {
  const database = decodeURIComponent(new URL(benchDatabaseUrl).pathname.slice(1));
  return databaseUrlFor(benchDatabaseUrl, `${database}_${prefix}_${peer}`);
}

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

/** Drops the database of `url`, with whoever is connected to it. */
export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  await execOn(
    databaseUrlFor(url, 'postgres'),
    `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`,
  );
}

/** Drops the database of `url` and creates it anew; returns `url`. */
export async function recreateDatabase(url: string): Promise<string> {
  await dropDatabase(url);
  return ensureDatabase(url);
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
