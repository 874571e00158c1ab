// Readers of one process share their reads of all events (infra/store/shared-reads.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import { createSqlEventStore, type SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { newEvent, sleep, steppingClock } from '../support/events.ts';
import { type StoreHarness, sqlAdapters } from '../support/stores.ts';

/** The harness's client, counting the reads of all events sent through it. */
function countingReads(client: SqlClient) {
  const counter = { reads: 0 };
  const counted = new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'query') return typeof value === 'function' ? value.bind(target) : value;
      return (sql: string, params?: unknown[]) => {
        if (/FROM aos_events\s+WHERE \(transaction_id, global_position\)/.test(sql)) counter.reads++;
        return target.query(sql, params);
      };
    },
  });
  return { client: counted, counter };
}

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`shared reads of all events: ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    beforeEach(async () => {
      harness = await adapter.open({ clock: steppingClock() });
    });
    afterEach(() => harness.cleanup());

    async function readable(store: SqlEventStore, count: number) {
      const deadline = Date.now() + 15_000;
      while ((await store.readAll({ limit: 1000 })).events.length < count && Date.now() < deadline)
        await sleep(20);
    }

    it('answers reads in flight together with one query, and a full page again without one', async () => {
      await harness.store.append('run-shared', [newEvent('A', { n: 1 }), newEvent('B', { n: 2 })], {
        expectedVersion: 'no_stream',
      });
      await readable(harness.store, 2);
      const { client, counter } = countingReads(harness.store.client);
      const store = createSqlEventStore(client);
      const [first, second] = await Promise.all([store.readAll({ limit: 1 }), store.readAll({ limit: 1 })]);
      expect(counter.reads).toBe(1);
      expect(second).toEqual(first);
      expect(first.events).not.toBe(second.events);
      const again = await store.readAll({ limit: 1 });
      expect(counter.reads).toBe(1);
      expect(again).toEqual(first);
      expect((await store.readAll({ limit: 1, after: first.checkpoint })).events.map((e) => e.type)).toEqual([
        'B',
      ]);
      expect(counter.reads).toBe(2);
    });

    it('reads a page that was not full afresh, so a reader at the head sees new events', async () => {
      await harness.store.append('run-tail', [newEvent('A', { n: 1 })], { expectedVersion: 'no_stream' });
      await readable(harness.store, 1);
      const { client, counter } = countingReads(harness.store.client);
      const store = createSqlEventStore(client);
      expect((await store.readAll({ limit: 10 })).events).toHaveLength(1);
      await harness.store.append('run-tail', [newEvent('B', { n: 2 })], { expectedVersion: 0 });
      await readable(harness.store, 2);
      expect((await store.readAll({ limit: 10 })).events.map((e) => e.type)).toEqual(['A', 'B']);
      expect(counter.reads).toBe(2);
    });
  });
}
