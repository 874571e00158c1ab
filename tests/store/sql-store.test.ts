// What only the SQL adapters promise: gap-free reads under concurrent transactions,
// tamper detection on the stored rows, one round trip per append, migrations.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import { EventIdConflictError, StoreUnavailableError } from '../../domain/store/store-errors.ts';
import { migrate } from '../../infra/store/migrate.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore, type SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { verifyStream } from '../../infra/store/verify-stream.ts';
import { events, sleep } from '../support/events.ts';
import { planCacheModes, plannedOncePerSession } from '../support/plan-cache-modes.ts';
import { createTestSchema, databaseUrl } from '../support/postgres.ts';
import { postgresAdapter, type StoreHarness, sqlAdapters } from '../support/stores.ts';

const STORE_MIGRATIONS = [
  '001_event_store.sql',
  '002_append_fast_path.sql',
  '070_leases.sql',
  '090_stream_fence.sql',
  '160_append_generic_plan.sql',
  '181_append_groups.sql',
  '182_append_arguments_record.sql',
  '184_append_group.sql',
];

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`SQL event store: ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    let store: SqlEventStore;
    beforeEach(async () => {
      harness = await adapter.open();
      store = harness.store;
    });
    afterEach(() => harness.cleanup());

    it('never skips nor repeats an event under concurrent writers with random commit delays', async () => {
      const written: string[] = [];
      const seen: RecordedEvent[] = [];
      let checkpoint: string | undefined;
      let writing = true;
      // Reads until it has seen as many events as were written (or a deadline passes): a
      // gap-free reader may lag while another test's transaction holds the xmin horizon.
      const reader = (async () => {
        const deadline = Date.now() + 60_000;
        while (writing || (seen.length < written.length && Date.now() < deadline)) {
          const page = await store.readAll({ after: checkpoint, limit: 50 });
          seen.push(...page.events);
          checkpoint = page.checkpoint;
          if (page.events.length === 0) await sleep(1);
        }
        // One more read: anything past the count would be a repeat.
        seen.push(...(await store.readAll({ after: checkpoint })).events);
      })();
      const writer = async (w: number) => {
        for (let i = 0; i < 40; i++) {
          const batch = events(1 + (i % 3));
          const delay = Math.floor(Math.random() * 4);
          await store.client.transaction(async (tx) => {
            await store.appendWith(tx, `gap-${w}-${i % 4}`, batch, { expectedVersion: 'any' });
            if (delay > 0) await sleep(delay);
          });
          written.push(...batch.map((e) => e.eventId));
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
      writing = false;
      await reader;
      const ids = seen.map((e) => e.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(new Set(written));
      expect(ids).toHaveLength(written.length);
    });

    it('detects a row edited, deleted or re-chained directly in SQL, naming stream and position', async () => {
      await store.append('tamper-1', events(5), { expectedVersion: 'no_stream' });
      expect((await verifyStream(store, 'tamper-1')).ok).toBe(true);

      await store.client.query(
        `UPDATE aos_events SET data = '{"n": 99}' WHERE stream_id = 'tamper-1' AND stream_position = 2`,
      );
      expect(await verifyStream(store, 'tamper-1')).toMatchObject({
        ok: false,
        break: { kind: 'hash_mismatch', streamId: 'tamper-1', streamPosition: 2 },
      });

      await store.append('tamper-2', events(4), { expectedVersion: 'no_stream' });
      await store.client.query(`DELETE FROM aos_events WHERE stream_id = 'tamper-2' AND stream_position = 1`);
      expect(await verifyStream(store, 'tamper-2')).toMatchObject({
        ok: false,
        break: { kind: 'position_gap', streamId: 'tamper-2', streamPosition: 2, expectedPosition: 1 },
      });

      await store.append('tamper-3', events(3), { expectedVersion: 'no_stream' });
      await store.client.query(
        `UPDATE aos_events SET prev_hash = repeat('a', 64) WHERE stream_id = 'tamper-3' AND stream_position = 2`,
      );
      expect(await verifyStream(store, 'tamper-3')).toMatchObject({
        ok: false,
        break: { kind: 'prev_hash_mismatch', streamId: 'tamper-3', streamPosition: 2 },
      });
    });

    it('appends in one round trip when the head is known, and chains correctly when it is not', async () => {
      let queries = 0;
      const counting: SqlClient = {
        ...store.client,
        query: (sql, params) => {
          queries++;
          return store.client.query(sql, params);
        },
      };
      const counted = createSqlEventStore(counting);
      queries = 0;
      let version = (await counted.append('trip-1', events(1), { expectedVersion: 'no_stream' }))
        .streamVersion;
      for (let i = 0; i < 10; i++) {
        version = (await counted.append('trip-1', events(2), { expectedVersion: version })).streamVersion;
      }
      expect(queries).toBe(11);

      // Another process appends: this one's cached head is stale, and it still chains right.
      const other = harness.another!();
      await other.append('trip-1', events(1), { expectedVersion: version });
      await counted.append('trip-1', events(1), { expectedVersion: version + 1 });
      await other.append('trip-1', events(1), { expectedVersion: 'any' });
      await counted.append('trip-1', events(1), { expectedVersion: 'any' });
      await counted.append('trip-1', events(1), { expectedVersion: 'stream_exists' });
      const verdict = await verifyStream(store, 'trip-1');
      expect(verdict).toMatchObject({ ok: true, count: 26 });
    });

    it('keeps idempotency before the expected version when the cached head is right', async () => {
      const batch = events(2);
      const first = await store.append('fast-1', batch, { expectedVersion: 'no_stream' });
      // Retried with the current version (the head this store cached): still the original result.
      const retry = await store.append('fast-1', batch, { expectedVersion: 1 });
      expect(retry).toEqual({ ...first, duplicate: true });
      await expect(
        store.append('fast-1', [batch[0]!, ...events(1)], { expectedVersion: 1 }),
      ).rejects.toBeInstanceOf(EventIdConflictError);
      await expect(
        store.append('fast-2', [batch[1]!], { expectedVersion: 'no_stream' }),
      ).rejects.toBeInstanceOf(EventIdConflictError);
      // A conflict is a status, not an SQL error: the caller's transaction goes on.
      await store.client.transaction(async (tx) => {
        await expect(
          store.appendWith(tx, 'fast-1', [{ ...batch[0]!, data: { n: 9 } }], { expectedVersion: 1 }),
        ).rejects.toBeInstanceOf(EventIdConflictError);
        await store.appendWith(tx, 'fast-1', events(1), { expectedVersion: 1 });
      });
      expect(await store.streamInfo('fast-2')).toBeNull();
      expect(await verifyStream(store, 'fast-1')).toMatchObject({ ok: true, count: 3 });
    });

    it('answers concurrent retries of one append with one write and the same positions', async () => {
      for (const [streamId, expectedVersion, before] of [
        ['retry-1', 'no_stream', 0],
        ['retry-2', 0, 1],
      ] as const) {
        if (before) await store.append(streamId, events(before), { expectedVersion: 'no_stream' });
        const batch = events(3);
        const results = await Promise.all(
          Array.from({ length: 10 }, () => harness.another!().append(streamId, batch, { expectedVersion })),
        );
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        for (const r of results) expect(r.positions).toEqual(results[0]!.positions);
        expect(await verifyStream(store, streamId)).toMatchObject({ ok: true, count: before + 3 });
      }
    });

    it('returns recordedAt exactly as the clock gave it, and refuses a clock it could not return', async () => {
      const instants = [
        '0001-01-01T00:00:00.000Z',
        '1969-12-31T23:59:59.999Z',
        '2026-03-29T01:30:00.010Z',
        '2026-10-25T02:59:59.100Z',
        '9999-12-31T23:59:59.999Z',
      ];
      let next = 0;
      const clocked = createSqlEventStore(store.client, { clock: () => new Date(instants[next++]!) });
      for (let i = 0; i < instants.length; i++) {
        await clocked.append('clock-1', events(1), { expectedVersion: i - 1 });
      }
      const read = await store.readStream('clock-1');
      expect(read.map((e) => e.recordedAt)).toEqual(instants);
      const all = await store.readAll({ filter: { types: ['Tested'] } });
      expect(all.events.map((e) => e.recordedAt)).toEqual(instants);
      expect(await verifyStream(store, 'clock-1')).toMatchObject({ ok: true, count: instants.length });

      for (const outside of ['+010000-01-01T00:00:00.000Z', '0000-12-31T23:59:59.999Z']) {
        const wrong = createSqlEventStore(store.client, { clock: () => new Date(outside) });
        await expect(wrong.append('clock-2', events(1), { expectedVersion: 'any' })).rejects.toThrow(
          RangeError,
        );
      }
      expect(await store.streamInfo('clock-2')).toBeNull();
    });

    it('wakes listeners after an append commits, after the commit of a caller transaction, or when its caller says', async () => {
      let woken = 0;
      const unlisten = await store.client.listen('aos_events', () => {
        woken++;
      });
      try {
        const wakeUp = async (from: number) => {
          const deadline = Date.now() + 5_000;
          while (woken === from && Date.now() < deadline) await sleep(5);
          return woken > from;
        };
        let before = woken;
        await store.append('wake-1', events(1), { expectedVersion: 'no_stream' });
        expect(await wakeUp(before)).toBe(true);

        await sleep(20);
        before = woken;
        await store.client.transaction(async (tx) => {
          await store.appendWith(tx, 'wake-1', events(1), { expectedVersion: 0 });
          await sleep(50);
          expect(woken).toBe(before);
        });
        expect(await wakeUp(before)).toBe(true);

        // Asked to leave the wake-up to the caller: nothing at the commit, then wakeSubscribers.
        await sleep(20);
        before = woken;
        await store.client.transaction((tx) =>
          store.appendWith(tx, 'wake-1', events(1), { expectedVersion: 1, wake: 'after_commit' }),
        );
        await sleep(100);
        expect(woken).toBe(before);
        store.wakeSubscribers();
        expect(await wakeUp(before)).toBe(true);
      } finally {
        await unlisten();
      }
    });

    it("plans the appends' statements once per session, not again at every call", async () => {
      // Replanning the fast path's CTE at every call cost ~4 times running it (migration 160);
      // the groups' functions (migrations 181, 182, 184) likewise.
      const names = ['aos_append', 'aos_appends'];
      expect(await planCacheModes(store.client, names)).toEqual(plannedOncePerSession(names));
      // The group's statements are probes by key or tuple id, never scans (migration 184).
      expect(await planCacheModes(store.client, ['aos_append_group'])).toEqual([
        ['aos_append_group', ['plan_cache_mode=force_generic_plan', 'enable_seqscan=off']],
      ]);
    });

    it('applies migrations once and records them', async () => {
      const again = await migrate(store.client);
      expect(again.every((m) => !m.applied)).toBe(true);
      const rows = await store.client.query<{ name: string }>(
        'SELECT name FROM aos_migrations ORDER BY name',
      );
      expect(rows.map((r) => r.name)).toEqual(STORE_MIGRATIONS);
    });
  });
}

describe.runIf(await postgresAdapter.available())('gap-free reads on PostgreSQL, step by step', () => {
  let harness: StoreHarness<SqlEventStore>;
  beforeEach(async () => {
    harness = await postgresAdapter.open();
  });
  afterEach(() => harness.cleanup());

  it('holds the checkpoint before an uncommitted event that a later commit overtook', async () => {
    const { store } = harness;
    const [first] = events(1);
    const [second] = events(1);
    let commitFirst!: () => void;
    const firstAppended = new Promise<void>((appended) => {
      void store.client.transaction(async (tx) => {
        await store.appendWith(tx, 'slow-1', [first!], { expectedVersion: 'no_stream' });
        appended();
        await new Promise<void>((resolve) => {
          commitFirst = resolve;
        });
      });
    });
    await firstAppended;
    const secondResult = await store.append('fast-1', [second!], { expectedVersion: 'no_stream' });

    const before = await store.readAll();
    expect(before.events).toEqual([]);
    expect(before.checkpoint).toBe('0:0');

    commitFirst();
    let after = await store.readAll();
    for (let i = 0; i < 50 && after.events.length < 2; i++) {
      await sleep(10);
      after = await store.readAll();
    }
    expect(after.events.map((e) => e.eventId)).toEqual([first!.eventId, second!.eventId]);
    expect(BigInt(after.events[1]!.globalPosition)).toBe(BigInt(secondResult.positions[0]!.globalPosition));
  });

  it('reports an unreachable server as StoreUnavailableError', async () => {
    const client = createPostgresClient({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    const store = createSqlEventStore(client);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.append('x-1', events(1), { expectedVersion: 'any' })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    await client.close();
  });
});

describe.runIf(await postgresAdapter.available())('migrations on PostgreSQL', () => {
  it('lets several processes migrate an empty schema at once', async () => {
    const { schema, drop } = await createTestSchema();
    const clients = Array.from({ length: 4 }, () =>
      createPostgresClient({ connectionString: databaseUrl, schema, maxConnections: 2 }),
    );
    try {
      const results = await Promise.all(clients.map((client) => migrate(client)));
      const applied = results.flat().filter((m) => m.applied);
      // Each once, by whichever process got to it first.
      expect(applied.map((m) => m.name).sort()).toEqual(STORE_MIGRATIONS);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await drop();
    }
  });
});
