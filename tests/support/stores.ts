// The adapters every contract suite runs against: in-memory, PGlite and PostgreSQL.
import type { EventStore } from '../../domain/store/event-store.ts';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import { createMemoryEventStore } from '../../infra/store/memory-event-store.ts';
import { migrate } from '../../infra/store/migrate.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore, type SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { createTestPGliteClient } from './pglite.ts';
import { createTestSchema, databaseUrl, postgresReachable } from './postgres.ts';

export interface StoreOptions {
  clock?: () => Date;
  maxEventBytes?: number;
}

export interface StoreHarness<S extends EventStore = EventStore> {
  store: S;
  /** A second store on the same data with its own caches (another process, in effect). */
  another?: () => S;
  cleanup: () => Promise<void>;
}

export interface StoreAdapter<S extends EventStore = EventStore> {
  name: string;
  available: () => Promise<boolean>;
  open: (options?: StoreOptions) => Promise<StoreHarness<S>>;
}

export const pgliteAdapter: StoreAdapter<SqlEventStore> = {
  name: 'pglite',
  available: async () => true,
  async open(options = {}) {
    const client = await createTestPGliteClient();
    await migrate(client);
    return {
      store: createSqlEventStore(client, options),
      another: () => createSqlEventStore(client, options),
      cleanup: () => client.close(),
    };
  },
};

export const postgresAdapter: StoreAdapter<SqlEventStore> = {
  name: 'postgres',
  available: postgresReachable,
  async open(options = {}) {
    const { schema, drop } = await createTestSchema();
    const clients: SqlClient[] = [];
    const connect = () => {
      const client = createPostgresClient({ connectionString: databaseUrl, schema, maxConnections: 24 });
      clients.push(client);
      return client;
    };
    const client = connect();
    await migrate(client);
    return {
      store: createSqlEventStore(client, options),
      another: () => createSqlEventStore(connect(), options),
      async cleanup() {
        await Promise.all(clients.map((c) => c.close()));
        await drop();
      },
    };
  },
};

export const memoryAdapter: StoreAdapter = {
  name: 'memory',
  available: async () => true,
  async open(options = {}) {
    return { store: createMemoryEventStore(options), cleanup: async () => {} };
  },
};

export const sqlAdapters = [pgliteAdapter, postgresAdapter];
export const allAdapters: StoreAdapter[] = [memoryAdapter, ...sqlAdapters];
