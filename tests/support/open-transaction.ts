// A write transaction held open on its own connection (what a long batch job or a forgotten
// psql session does), in this database or in another database of the same cluster.
import pg from 'pg';
import { databaseUrl } from './postgres.ts';

export interface OpenTransaction {
  pid: number;
  database: string;
  commit(): Promise<void>;
}

/** A database of the same cluster other than `url`'s, created when missing. */
export async function otherDatabaseUrl(url = databaseUrl): Promise<string> {
  const base = new URL(url);
  const name = `${base.pathname.slice(1) || 'postgres'}_other`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    // 42P04: it exists; 23505: another test created it at the same moment.
    if (!['42P04', '23505'].includes((error as { code?: string }).code ?? '')) throw error;
  } finally {
    await admin.end();
  }
  base.pathname = `/${name}`;
  base.search = '';
  return base.toString();
}

/** Begins a transaction at `url` and gives it an xid, as its first INSERT would. */
export async function openWriteTransaction(url: string): Promise<OpenTransaction> {
  const client = new pg.Client({ connectionString: url, application_name: 'aos-test-long-transaction' });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT pg_current_xact_id()');
  const [row] = (
    await client.query<{ pid: number; database: string }>(
      'SELECT pg_backend_pid() AS pid, current_database() AS database',
    )
  ).rows;
  return {
    pid: row!.pid,
    database: row!.database,
    async commit() {
      await client.query('COMMIT');
      await client.end();
    },
  };
}
