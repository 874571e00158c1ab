// Opens the configured event store and brings its schema up to date.
import { mkdir } from 'node:fs/promises';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import type { Config } from '../config.ts';
import { allMigrations } from '../migrations.ts';
import { migrate } from './migrate.ts';
import { createPGliteClient } from './pglite-client.ts';
import { createPostgresClient } from './postgres-client.ts';
import { createSqlEventStore, type SqlEventStore, type SqlEventStoreOptions } from './sql-event-store.ts';

export async function openSqlClient(config: Pick<Config, 'AOS_STORE' | 'AOS_DATA_DIR' | 'DATABASE_URL'>) {
  if (config.AOS_STORE === 'postgres') {
    return createPostgresClient({ connectionString: config.DATABASE_URL! });
  }
  await mkdir(config.AOS_DATA_DIR, { recursive: true });
  return createPGliteClient(`${config.AOS_DATA_DIR}/pglite`);
}

export async function openEventStore(
  config: Pick<Config, 'AOS_STORE' | 'AOS_DATA_DIR' | 'DATABASE_URL' | 'AOS_MAX_EVENT_BYTES'>,
  options: SqlEventStoreOptions = {},
): Promise<SqlEventStore> {
  const client: SqlClient = await openSqlClient(config);
  await migrate(client, allMigrations);
  return createSqlEventStore(client, { maxEventBytes: config.AOS_MAX_EVENT_BYTES, ...options });
}
