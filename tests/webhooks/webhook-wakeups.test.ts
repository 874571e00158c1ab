// The webhook sender without polling, on PGlite and PostgreSQL: it asks nothing of the
// deliveries while idle, an enqueued delivery goes at once (the enqueuer announces it), a failed
// one goes again at its due time (a timer, not a poll), a lost announcement is caught by its
// fallback look, and two instances on one PostgreSQL database deliver an event once, whichever
// instance recorded it.
import { afterEach, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import { silentLog } from '../../infra/kafka/kafka-client.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore } from '../../infra/store/sql-event-store.ts';
import { startWebhookDispatcher } from '../../infra/webhooks/dispatcher.ts';
import { createWebhookSender } from '../../infra/webhooks/webhook-sender.ts';
import { createWebhookStore } from '../../infra/webhooks/webhook-store.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { newEvent, sleep, until } from '../support/events.ts';
import { createTestPGliteClient } from '../support/pglite.ts';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

const stores = [
  { name: 'pglite' as const, available: true },
  { name: 'postgres' as const, available: await postgresReachable() },
];

/** Well under the sender's fallback look (a minute): only a wake-up or a timer delivers this soon. */
const PROMPTLY_MS = 10_000;

/** A database for one test; `another()` is a second client on it (another instance). */
async function openDatabase(name: 'pglite' | 'postgres') {
  if (name === 'pglite') {
    const client = await createTestPGliteClient();
    return { client, another: undefined, drop: async () => {} };
  }
  const { schema, drop } = await createTestSchema();
  const connect = () => createPostgresClient({ connectionString: databaseUrl, schema, maxConnections: 20 });
  return { client: connect(), another: connect, drop };
}

/** `client` with the statements sent to the deliveries' table counted. */
function countingDeliveryQueries(client: SqlClient) {
  const counted = { queries: 0 };
  const wrapped: SqlClient = {
    ...client,
    query: (sql, params) => {
      if (sql.includes('FROM aos_webhook_deliveries')) counted.queries += 1;
      return client.query(sql, params);
    },
  };
  return { client: wrapped, counted };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function receiverFor(answer?: Parameters<typeof startWebhookReceiver>[0]) {
  const receiver = await startWebhookReceiver(answer);
  cleanups.push(() => receiver.close());
  return receiver;
}

async function appOn(
  name: 'pglite' | 'postgres',
  client: SqlClient,
  env: Record<string, string> = {},
): Promise<TestApp> {
  const app = await startTestApp(name, env, { client });
  cleanups.push(() => app.stop());
  return app;
}

async function subscribe(app: TestApp, url: string, eventTypes: string[]) {
  const admin = await app.keyFor('acme', 'admin');
  const created = await app.request('POST', '/v1/webhooks', { key: admin, body: { url, eventTypes } });
  expect(created.status).toBe(201);
  return created.body as { webhookId: string; secret: string };
}

for (const { name, available } of stores) {
  describe.runIf(available)(`webhook sender wake-ups (${name})`, () => {
    it('asks nothing of the deliveries while idle, and sends an enqueued delivery at once', async () => {
      const database = await openDatabase(name);
      cleanups.push(database.drop);
      const { client, counted } = countingDeliveryQueries(database.client);
      const app = await appOn(name, client);
      const receiver = await receiverFor();
      receiver.useSecret((await subscribe(app, receiver.url, ['Pinged'])).secret);

      await sleep(500);
      const before = counted.queries;
      await sleep(1_500);
      // Polling every 250 ms, it sent a round and an idle query each time (12 here).
      expect(counted.queries - before).toBe(0);

      await app.store.append('pings-1', [newEvent('Pinged', { n: 1 }, 'acme')], { expectedVersion: 'any' });
      await until('delivered', () => receiver.received.length === 1, PROMPTLY_MS);
      expect(receiver.received[0]!.verified).toBe(true);
    });

    it('sends a failed delivery again at its due time', async () => {
      const database = await openDatabase(name);
      cleanups.push(database.drop);
      const arrivals: number[] = [];
      const receiver = await receiverFor((_, attempt) => {
        arrivals.push(Date.now());
        return attempt === 1 ? 503 : 204;
      });
      const app = await appOn(name, database.client, { AOS_WEBHOOK_BACKOFF_MS: '1500' });
      receiver.useSecret((await subscribe(app, receiver.url, ['Pinged'])).secret);

      await app.store.append('pings-2', [newEvent('Pinged', { n: 2 }, 'acme')], { expectedVersion: 'any' });
      await until('delivered on the second attempt', () => receiver.received.length === 1, PROMPTLY_MS);
      expect(arrivals).toHaveLength(2);
      // Not before its due time (the first attempt's start + 1.5 s, a little before it arrived).
      expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(1_000);
    });

    it('delivers what it was not told about within its fallback look', async () => {
      const database = await openDatabase(name);
      cleanups.push(database.drop);
      await migrate(database.client, allMigrations);
      // Hears no notification, sends none: the enqueuer and the sender learn from their fallbacks alone.
      const deaf: SqlClient = { ...database.client, listen: async () => async () => {}, notify: () => {} };
      const store = createSqlEventStore(deaf);
      const sender = createWebhookSender({ allowHosts: ['127.0.0.1'] });
      const dispatcher = await startWebhookDispatcher(store, { sender, log: silentLog, pollIntervalMs: 300 });
      cleanups.push(async () => {
        await dispatcher.stop();
        await sender.close();
        await database.client.close();
      });
      const receiver = await receiverFor();
      const webhook = await createWebhookStore(store).register('acme', {
        url: receiver.url,
        eventTypes: ['Pinged'],
      });
      receiver.useSecret(webhook.secret);

      await store.append('pings-3', [newEvent('Pinged', { n: 3 }, 'acme')], { expectedVersion: 'any' });
      await until('delivered without a wake-up', () => receiver.received.length === 1, PROMPTLY_MS);
    });
  });
}

describe.runIf(stores[1]!.available)('webhook sender wake-ups, two instances (postgres)', () => {
  it('delivers once with two instances, whichever recorded the event', async () => {
    const database = await openDatabase('postgres');
    cleanups.push(database.drop);
    const first = await appOn('postgres', database.client);
    const second = await appOn('postgres', database.another!());
    const receiver = await receiverFor();
    receiver.useSecret((await subscribe(first, receiver.url, ['Pinged'])).secret);

    // One instance sends (the lease); each event is recorded, and enqueued, by one of them.
    await first.store.append('pings-a', [newEvent('Pinged', { n: 4 }, 'acme')], { expectedVersion: 'any' });
    await second.store.append('pings-b', [newEvent('Pinged', { n: 5 }, 'acme')], { expectedVersion: 'any' });
    await until('both delivered', () => receiver.received.length === 2, PROMPTLY_MS);
    await sleep(1_000);
    expect(receiver.received).toHaveLength(2);
    expect(new Set(receiver.received.map((r) => r.payload.data.streamId))).toEqual(
      new Set(['pings-a', 'pings-b']),
    );
    expect([...receiver.attempts.values()]).toEqual([1, 1]);
  }, 60_000);
});
