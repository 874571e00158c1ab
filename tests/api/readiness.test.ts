import { expect, it } from 'vitest';
import { buildServer } from '../../api/server.ts';
import { createApiKeyStore } from '../../infra/auth/api-key-store.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore } from '../../infra/store/sql-event-store.ts';

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
