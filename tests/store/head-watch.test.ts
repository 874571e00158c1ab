// The subscriptions' shared fallback (infra/store/head-watch.ts), on PGlite and PostgreSQL:
// idle subscriptions send no query of their own — one look per period at the newest readable
// event serves them all — and an event whose notification was lost is still handled within
// that period.
import { afterEach, describe, expect, it } from 'vitest';
import type { Subscription } from '../../domain/store/event-store.ts';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import { createSqlEventStore, type SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { events, sleep, until } from '../support/events.ts';
import { type StoreHarness, sqlAdapters } from '../support/stores.ts';

const isReadAll = (sql: string) => /FROM aos_events\s+WHERE \(transaction_id, global_position\) >/.test(sql);
const isHeadLook = (sql: string) => sql.includes(' AS head FROM aos_events');

/** `client`, with every statement it is sent recorded; `deaf`: hears no notification and sends none. */
function recording(client: SqlClient, sent: string[], options: { deaf?: boolean } = {}): SqlClient {
  return {
    ...client,
    query: (sql, params) => {
      sent.push(sql);
      return client.query(sql, params);
    },
    ...(options.deaf ? { listen: async () => async () => {}, notify: () => {} } : {}),
  };
}

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`shared head watch (${adapter.name})`, () => {
    let harness: StoreHarness<SqlEventStore>;
    const subscriptions: Subscription[] = [];
    afterEach(async () => {
      for (const subscription of subscriptions.splice(0)) await subscription.stop();
      await harness?.cleanup();
    });

    /** Subscribes on `store`; the event ids it was handed. */
    function follow(store: SqlEventStore, pollIntervalMs: number): string[] {
      const seen: string[] = [];
      subscriptions.push(
        store.subscribe(
          (batch) => {
            seen.push(...batch.map((e) => e.eventId));
          },
          { pollIntervalMs },
        ),
      );
      return seen;
    }

    it('sends no read while idle: one look per period serves every subscription, an append wakes them', async () => {
      harness = await adapter.open();
      await harness.store.append('watched-0', events(2), { expectedVersion: 'any' });
      const sent: string[] = [];
      const store = createSqlEventStore(recording(harness.store.client, sent));
      const followers = Array.from({ length: 5 }, () => follow(store, 100));
      await until('every subscription caught up', () => followers.every((seen) => seen.length === 2));
      // Past the first look (which wakes every subscription once: it cannot know what they read).
      await sleep(400);

      sent.length = 0;
      await sleep(1_000);
      // Polling on their own, five subscriptions would have read ~50 times in that second.
      expect(sent.filter(isReadAll)).toEqual([]);
      expect(sent.filter(isHeadLook).length).toBeGreaterThanOrEqual(2);

      const [appended] = events(1);
      await store.append('watched-1', [appended!], { expectedVersion: 'any' });
      await until('every subscription saw the append', () =>
        followers.every((seen) => seen.includes(appended!.eventId)),
      );
    });

    it('handles an event whose notification was lost within the poll period', async () => {
      harness = await adapter.open();
      // This store hears nothing: its subscription learns of the append from the head watch alone.
      const deaf = createSqlEventStore(recording(harness.store.client, [], { deaf: true }));
      const seen = follow(deaf, 200);
      await sleep(500);
      const [appended] = events(1);
      await harness.store.append('unannounced', [appended!], { expectedVersion: 'any' });
      await until('the unannounced event handled', () => seen.includes(appended!.eventId), 10_000);
    });
  });
}
