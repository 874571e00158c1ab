// Concurrent autocommitted appends go to the database together (aos_appends, migration 181):
// each caller still gets its own answer — its positions, a duplicate, a wrong version, an event
// id taken by another stream — and its statement alongside acts on its own append only.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendResult } from '../../domain/store/envelope.ts';
import { ConcurrencyError, EventIdConflictError } from '../../domain/store/store-errors.ts';
import { createSqlEventStore, type SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { verifyStream } from '../../infra/store/verify-stream.ts';
import { events } from '../support/events.ts';
import { type StoreHarness, sqlAdapters } from '../support/stores.ts';

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`appends grouped on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    /** Items of each aos_appends statement sent; a group of one is sent as aos_append alone. */
    let groups: number[];
    let store: SqlEventStore;
    beforeEach(async () => {
      harness = await adapter.open();
      groups = [];
      const client = Object.create(harness.store.client) as SqlEventStore['client'];
      client.query = (sql, params) => {
        if (sql.includes('aos_appends(')) groups.push(JSON.parse(params![0] as string).length);
        return harness.store.client.query(sql, params);
      };
      // One statement out at a time: whatever is appended meanwhile waits and goes together.
      store = createSqlEventStore(client, { groups: { inFlight: 1, maxItems: 32, patienceMs: 60_000 } });
    });
    afterEach(() => harness.cleanup());

    it('sends appends made meanwhile together, each answered with its own positions', async () => {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          store.append(`grouped-${i}`, events(i + 1), { expectedVersion: 'no_stream' }),
        ),
      );
      expect(groups.length).toBeGreaterThan(0);
      expect(Math.max(...groups)).toBeGreaterThan(1);
      for (const [i, result] of results.entries()) {
        expect(result).toMatchObject({ streamVersion: i, duplicate: false });
        const read = await harness.store.readStream(`grouped-${i}`);
        expect(read.map((e) => e.globalPosition)).toEqual(result.positions.map((p) => p.globalPosition));
        expect(read.map((e) => e.eventId)).toEqual(result.positions.map((p) => p.eventId));
        expect((await verifyStream(harness.store, `grouped-${i}`)).ok).toBe(true);
      }
      // The heads are remembered: the next append of each stream chains on them without a read.
      await Promise.all(
        results.map((_, i) => store.append(`grouped-${i}`, events(1), { expectedVersion: i })),
      );
      for (let i = 0; i < 12; i++) expect((await verifyStream(harness.store, `grouped-${i}`)).ok).toBe(true);
    });

    it("answers each caller of a group as if alone: a duplicate, a wrong version, another stream's event id", async () => {
      const recorded = events(2);
      await harness.store.append('dup', recorded, { expectedVersion: 'no_stream' });
      await harness.store.append('behind', events(3), { expectedVersion: 'no_stream' });
      const taken = events(1);
      await harness.store.append('owner', taken, { expectedVersion: 'no_stream' });
      await harness.store.client.exec(
        'CREATE TABLE group_marks (stream text NOT NULL, status text NOT NULL)',
      );
      const marked = (streamId: string) => (first: number, appended: string) => ({
        sql: `INSERT INTO group_marks SELECT $${first}, appended.status FROM ${appended}`,
        params: [streamId],
      });
      const outcome = (append: Promise<AppendResult>) =>
        append.then(
          (result) => (result.duplicate ? 'duplicate' : `ok at ${result.streamVersion}`),
          (error: Error) => error.constructor.name,
        );
      // The first goes out alone; the other five wait for it and go together.
      const answers = await Promise.all([
        outcome(
          store.append('first', events(1), { expectedVersion: 'no_stream', alongside: marked('first') }),
        ),
        outcome(
          store.append('fresh', events(2), { expectedVersion: 'no_stream', alongside: marked('fresh') }),
        ),
        outcome(store.append('dup', recorded, { expectedVersion: 'no_stream', alongside: marked('dup') })),
        outcome(store.append('behind', events(1), { expectedVersion: 0, alongside: marked('behind') })),
        outcome(store.append('thief', taken, { expectedVersion: 'no_stream', alongside: marked('thief') })),
        outcome(
          store.append('later', events(1), { expectedVersion: 'no_stream', alongside: marked('later') }),
        ),
      ]);
      expect(answers).toEqual([
        'ok at 0',
        'ok at 1',
        'duplicate',
        ConcurrencyError.name,
        EventIdConflictError.name,
        'ok at 0',
      ]);
      expect(groups[0]).toBe(5);
      const marks = await harness.store.client.query<{ stream: string; status: string }>(
        'SELECT stream, status FROM group_marks ORDER BY stream',
      );
      // Each statement alongside read its own append's answer, as it would have alone.
      expect(marks).toEqual([
        { stream: 'behind', status: 'wrong_version' },
        { stream: 'dup', status: 'duplicate' },
        { stream: 'first', status: 'ok' },
        { stream: 'fresh', status: 'ok' },
        { stream: 'later', status: 'ok' },
        { stream: 'thief', status: 'event_id_conflict' },
      ]);
      expect(await harness.store.readStream('thief')).toEqual([]);
      expect(await harness.store.readStream('fresh')).toHaveLength(2);
    });
  });
}
