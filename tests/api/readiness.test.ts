import { describe, expect, it } from 'vitest';
import { buildServer } from '../../api/server.ts';
import { createApiKeyStore } from '../../infra/auth/api-key-store.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore } from '../../infra/store/sql-event-store.ts';
import { startTestApp } from '../support/app.ts';
import { openWriteTransaction } from '../support/open-transaction.ts';
import { databaseUrl, postgresReachable } from '../support/postgres.ts';

it('/readyz answers 503 in the error shape while the store is unreachable; /healthz stays 200', async () => {
  const client = createPostgresClient({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
  const store = createSqlEventStore(client);
  const app = await buildServer({
    store,
    keys: createApiKeyStore(client),
    commands: { store, skills: { facts: () => undefined }, clock: () => new Date() },
    readModels: client,
    config: { AOS_LOG_LEVEL: 'silent', AOS_MAX_EVENT_BYTES: 1_048_576 },
  });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  expect(ready.statusCode).toBe(503);
  expect(ready.json()).toEqual({
    error: { code: 'STORE_UNAVAILABLE', message: 'the event store does not answer' },
  });
  expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  await app.close();
  await client.close();
});

describe.runIf(await postgresReachable())('/readyz while a transaction holds back the readers', () => {
  it('stays 200 but says degraded, naming the cause and the blocking backend, then recovers', async () => {
    const app = await startTestApp('postgres', { AOS_READ_HORIZON_WARN_SECONDS: '0.3', AOS_EXECUTOR: 'off' });
    const open = await openWriteTransaction(databaseUrl);
    try {
      let ready = await app.request('GET', '/readyz');
      for (let i = 0; i < 60 && ready.body.status !== 'degraded'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        ready = await app.request('GET', '/readyz');
      }
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        status: 'degraded',
        degraded: [
          {
            cause: 'read_horizon_held',
            message: expect.stringContaining(`pid ${open.pid}`),
            blockingBackend: { pid: open.pid, database: open.database, queryStart: expect.any(String) },
          },
        ],
      });
      await open.commit();
      for (let i = 0; i < 60 && ready.body.status !== 'ready'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        ready = await app.request('GET', '/readyz');
      }
      expect(ready.body).toEqual({ status: 'ready' });
    } finally {
      await open.commit().catch(() => {});
      await app.stop();
    }
  });
});
