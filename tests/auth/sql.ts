// SQL clients for the auth suites: embedded PGlite and a fresh PostgreSQL schema, migrated
// with the event store's and the key store's migrations, as the server does.

import type { SqlClient } from '../../domain/store/sql-port.ts';
import { authMigrations } from '../../infra/auth/api-key-store.ts';
import { eventStoreMigrations, migrate } from '../../infra/store/migrate.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createTestPGliteClient } from '../support/pglite.ts';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';

export const migrations = [eventStoreMigrations, authMigrations];

export interface SqlHarness {
  client: SqlClient;
  /** Another client on the same database (another process, in effect); PostgreSQL only. */
  connect?: () => SqlClient;
  cleanup: () => Promise<void>;
}

export interface SqlAdapter {
  name: string;
  available: () => Promise<boolean>;
  open: (options?: { migrate?: boolean }) => Promise<SqlHarness>;
}

export const pglite: SqlAdapter = {
  name: 'pglite',
  available: async () => true,
  async open({ migrate: apply = true } = {}) {
    const client = await createTestPGliteClient();
    if (apply) await migrate(client, migrations);
    return { client, cleanup: () => client.close() };
  },
};

export const postgres: SqlAdapter = {
  name: 'postgres',
  available: postgresReachable,
  async open({ migrate: apply = true } = {}) {
    const { schema, drop } = await createTestSchema();
    const clients: SqlClient[] = [];
    const connect = () => {
      const client = createPostgresClient({ connectionString: databaseUrl, schema, maxConnections: 4 });
      clients.push(client);
      return client;
    };
    const client = connect();
    if (apply) await migrate(client, migrations);
    return {
      client,
      connect,
      async cleanup() {
        await Promise.all(clients.map((c) => c.close()));
        await drop();
      },
    };
  },
};

export const sqlAdapters = [pglite, postgres];
