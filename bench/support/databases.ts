// A fresh database for one benchmark suite, with every AOS migration applied: a schema of
// its own on the bench PostgreSQL database, or an on-disk PGlite in a temp folder (as
// `npm start` keeps it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import { createPGliteClient } from '../../infra/store/pglite-client.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { benchDatabaseUrl, benchSchema, ensureDatabase, execOn } from './postgres.ts';
import type { Figure } from './report.ts';

export type StoreKind = 'postgres' | 'pglite';
export const storeKinds: readonly StoreKind[] = ['postgres', 'pglite'];

/** Measures on PostgreSQL, then on PGlite (one after the other: they share the machine). */
export async function onEveryStore(measure: (kind: StoreKind) => Promise<Figure[]>): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const kind of storeKinds) figures.push(...(await measure(kind)));
  return figures;
}

export interface BenchDatabase {
  kind: StoreKind;
  client: SqlClient;
  /** A second pool on the same database (anchors that must not share the subject's pool). */
  openClient(maxConnections?: number): Promise<SqlClient>;
  close(): Promise<void>;
}

/** `maxConnections`: the pool size; the server's default (10) unless a suite needs another. */
export async function openBenchDatabase(
  kind: StoreKind,
  name: string,
  options: { maxConnections?: number } = {},
): Promise<BenchDatabase> {
  if (kind === 'postgres') {
    const url = await ensureDatabase(benchDatabaseUrl);
    const schema = benchSchema(name);
    await execOn(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    const open = async (maxConnections = options.maxConnections ?? 10) =>
      createPostgresClient({ connectionString: url, schema, maxConnections });
    const client = await open();
    await migrate(client, allMigrations);
    const extra: SqlClient[] = [];
    return {
      kind,
      client,
      async openClient(maxConnections) {
        const other = await open(maxConnections);
        extra.push(other);
        return other;
      },
      async close() {
        // An app given one of these pools closes it itself.
        for (const other of [...extra, client]) await other.close().catch(() => {});
        await execOn(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      },
    };
  }
  const dataDir = await mkdtemp(join(tmpdir(), `aos-bench-${name}-`));
  const client = await createPGliteClient(dataDir);
  await migrate(client, allMigrations);
  return {
    kind,
    client,
    // One process owns a PGlite database: every "pool" is the same single connection.
    openClient: async () => client,
    async close() {
      await client.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
