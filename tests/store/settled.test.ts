// `settled` waits for the transactions that were running when it was called: a gap-free read
// begun after it shows every event committed before the call, though a transaction that took
// its xid earlier held the reader back meanwhile (what an export asked right after a run ended
// met while a read model's batch was being written).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../../infra/store/migrate.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore, type SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { newEvent } from '../support/events.ts';
import { type OpenTransaction, openWriteTransaction } from '../support/open-transaction.ts';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';

describe.runIf(await postgresReachable())('settled on postgres', () => {
  let store: SqlEventStore;
  let drop: () => Promise<void>;
  let open: OpenTransaction | undefined;

  beforeEach(async () => {
    const schema = await createTestSchema();
    drop = schema.drop;
    store = createSqlEventStore(
      createPostgresClient({ connectionString: databaseUrl, schema: schema.schema }),
    );
    await migrate(store.client);
  });
  afterEach(async () => {
    await open?.commit().catch(() => {});
    await store.close();
    await drop();
  });

  it('resolves when the transactions running at the call have ended; then every event committed before it reads', async () => {
    open = await openWriteTransaction(databaseUrl);
    await store.append('thing-1', [newEvent()], { expectedVersion: 'no_stream' });
    // Committed, but after an xid still running: the gap-free reader stops short of it.
    expect((await store.readAll()).events).toHaveLength(0);
    let resolved = false;
    const settling = store.settled(10_000).then(() => {
      resolved = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(resolved).toBe(false);
    await open.commit();
    await settling;
    expect((await store.readAll()).events.map((e) => e.streamId)).toEqual(['thing-1']);
  });

  it('gives up after maxWaitMs', async () => {
    open = await openWriteTransaction(databaseUrl);
    const started = performance.now();
    await store.settled(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });
});
