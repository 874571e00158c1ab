// A group of appends made set-wide (aos_append_group, migration 184), through both its callers:
// aos_appends (grouped autocommitted appends) and aos_transitions (step transitions, migration
// 185). A group it takes (4 appends or more) is written as one aos_append per stream wrote it — each stream chained
// on its head, global positions in item, append and event order, each append answered in that
// order — without calling aos_append at all; a group it cannot take goes one append at a time as
// before: aos_appends answers each append, aos_transitions refuses the whole group.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWholeStream } from '../../commands/handle-command.ts';
import type { ExpectedVersion, NewEvent } from '../../domain/store/envelope.ts';
import { verifyChain } from '../../domain/store/hash-chain.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import {
  type AppendArguments,
  type AppendedRow,
  appendArgumentsJson,
  jsonWithArraysOfJson,
  type SqlEventStore,
} from '../../infra/store/sql-event-store.ts';
import { until } from '../support/events.ts';
import { pgliteAdapter, postgresAdapter, type StoreHarness } from '../support/stores.ts';

const events = (n: number, tag: string): NewEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    eventId: randomUUID(),
    type: 'StepCompleted',
    schemaVersion: 1,
    data: { tag, i, nested: { list: [i, `${tag}-${i}`] } },
    metadata: { tenantId: 'acme', actor: 'test' },
  }));

/** aos_append's signature (migration 002). */
const APPEND_SIGNATURE =
  'text, text, text, text, bigint, text, uuid[], text[], integer[], jsonb[], jsonb[], timestamptz, text[], boolean';

type GroupRow = AppendedRow & { item: number; status?: string };
type Append = { streamId: string; events: NewEvent[]; expectedVersion: ExpectedVersion };
type Fence = { fenceStream: string; fenceVersion: number } | undefined;

/** Each append an item of its own: of aos_appends, or a transition (with its fence) of aos_transitions. */
const callers = {
  aos_appends: (on: SqlExecutor, appends: AppendArguments[]) =>
    on.query<GroupRow>('SELECT * FROM aos_appends($1::jsonb)', [
      `[${appends.map(appendArgumentsJson).join(',')}]`,
    ]),
  aos_transitions: (on: SqlExecutor, appends: AppendArguments[], fences: Fence[] = []) => {
    const items = appends.map((a, i) =>
      jsonWithArraysOfJson(
        {
          fenceStream: fences[i]?.fenceStream ?? null,
          fenceVersion: fences[i]?.fenceVersion ?? null,
          moves: [],
        },
        { appends: [appendArgumentsJson(a)] },
      ),
    );
    return on.query<GroupRow>('SELECT * FROM aos_transitions($1::jsonb)', [`[${items.join(',')}]`]);
  },
};

async function globalOrder(store: SqlEventStore, eventIds: string[]): Promise<string[]> {
  const rows = await store.client.query<{ event_id: string }>(
    'SELECT event_id::text FROM aos_events WHERE event_id = ANY($1::uuid[]) ORDER BY global_position',
    [eventIds],
  );
  return rows.map((row) => row.event_id);
}

for (const adapter of [pgliteAdapter, postgresAdapter]) {
  describe.runIf(await adapter.available())(`a group of appends on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    beforeAll(async () => {
      harness = await adapter.open();
      await migrate(harness.store.client, allMigrations);
    });
    afterAll(() => harness.cleanup());

    for (const [name, call] of Object.entries(callers)) {
      it(`${name}: new and known streams at once, chained, in order, answered in order, no aos_append called`, async () => {
        const store = harness.store;
        const known = `${name}-known`;
        await store.append(known, events(2, 'before'), { expectedVersion: 'no_stream' });
        const group = [
          { streamId: `${name}-new-a`, events: events(2, 'a'), expectedVersion: 'no_stream' as const },
          { streamId: known, events: events(1, 'k'), expectedVersion: 1 },
          { streamId: `${name}-new-b`, events: events(3, 'b'), expectedVersion: 'any' as const },
          { streamId: `${name}-new-c`, events: events(1, 'c'), expectedVersion: 'no_stream' as const },
        ];
        let answered: GroupRow[] = [];
        const results = await store.appendWithin(group, (appends) =>
          store.client.transaction(async (tx) => {
            // Set-wide: the group does not call aos_append (renamed away meanwhile) at all.
            await tx.query(`ALTER FUNCTION aos_append(${APPEND_SIGNATURE}) RENAME TO aos_append_aside`);
            answered = await call(tx, appends);
            await tx.query(`ALTER FUNCTION aos_append_aside(${APPEND_SIGNATURE}) RENAME TO aos_append`);
            return answered;
          }),
        );

        expect(answered.map((row) => [row.item, Number(row.stream_version)])).toEqual([
          [1, 1],
          [2, 2],
          [3, 2],
          [4, 0],
        ]);
        expect(results!.map((r) => r.streamVersion)).toEqual([1, 2, 2, 0]);
        const ids = group.flatMap((g) => g.events.map((e) => e.eventId));
        expect(await globalOrder(store, ids)).toEqual(ids);
        for (const { streamId } of group) {
          const recorded = await readWholeStream(store, streamId);
          expect(verifyChain(recorded)).toMatchObject({ ok: true });
          const [head] = await store.client.query<{ version: string; last_hash: string }>(
            'SELECT version::text, last_hash FROM aos_streams WHERE stream_id = $1',
            [streamId],
          );
          expect(head).toEqual({ version: String(recorded.length - 1), last_hash: recorded.at(-1)!.hash });
        }
        // The store's head cache moved with the answers: the next append chains on them.
        await store.append(`${name}-new-b`, events(1, 'after'), { expectedVersion: 2 });
        expect(verifyChain(await readWholeStream(store, `${name}-new-b`))).toMatchObject({
          ok: true,
          count: 4,
        });
      });
    }

    /** `appends` with new streams after them, up to the 4 a group needs to be tried set-wide. */
    const toFour = (tag: string, appends: Append[]): Append[] => [
      ...appends,
      ...Array.from({ length: 4 - appends.length }, (_, i) => ({
        streamId: `${tag}-pad-${i}`,
        events: events(1, 'p'),
        expectedVersion: 'no_stream' as const,
      })),
    ];

    /** The group sent by aos_transitions is refused as a whole (`error`), and writes nothing. */
    async function refusedWhole(
      appends: Append[],
      error: { code: string; message: string },
      fences: Fence[] = [],
    ) {
      const store = harness.store;
      await expect(
        store.appendWithin(appends, (args) => callers.aos_transitions(store.client, args, fences)),
      ).rejects.toMatchObject({ code: error.code, message: expect.stringContaining(error.message) });
      for (const { streamId, events: sent } of appends) {
        const ids = new Set((await readWholeStream(store, streamId)).map((e) => e.eventId));
        expect(sent.filter((e) => ids.has(e.eventId))).toEqual([]);
      }
    }

    it('a head moved meanwhile: aos_appends answers each append, aos_transitions refuses the group', async () => {
      const store = harness.store;
      await store.append('moved', events(1, 'x'), { expectedVersion: 'no_stream' });
      const group = (tag: string) =>
        toFour(tag, [
          { streamId: `${tag}-fine`, events: events(1, 'f'), expectedVersion: 'no_stream' as const },
          { streamId: 'moved', events: events(1, 'm'), expectedVersion: 0 },
        ]);
      // Another writer (with its own head cache) moves it after this store learned its head.
      await harness.another!().append('moved', events(1, 'y'), { expectedVersion: 0 });

      let answered: GroupRow[] = [];
      // Only the answers are looked at: appendWithin takes only appends that were made.
      await expect(
        store.appendWithin(group('alone'), async (appends) => {
          answered = await callers.aos_appends(store.client, appends);
          throw new Error('answered');
        }),
      ).rejects.toThrow('answered');
      expect(answered.map((row) => row.status)).toEqual(['ok', 'wrong_version', 'ok', 'ok']);
      expect(await readWholeStream(store, 'alone-fine')).toHaveLength(1);
      // The same group as transitions (this store's head of `moved` still the old one).
      await refusedWhole(group('together'), { code: 'AOS02', message: 'moved answered wrong_version' });
      expect(await readWholeStream(store, 'moved')).toHaveLength(2);
    });

    it('refuses an event recorded before, and a stream taken for new that exists by now', async () => {
      const store = harness.store;
      const recorded = events(1, 'r');
      await store.append('recorded', recorded, { expectedVersion: 'no_stream' });
      await refusedWhole(
        toFour('again', [{ streamId: 'recorded-elsewhere', events: recorded, expectedVersion: 'no_stream' }]),
        { code: 'AOS02', message: 'recorded-elsewhere answered event_id_conflict' },
      );
      // A store that never saw `exists` takes it for new (expected: any).
      await harness.another!().append('exists', events(1, 'e'), { expectedVersion: 'no_stream' });
      await refusedWhole(
        toFour('late', [{ streamId: 'exists', events: events(1, 'l'), expectedVersion: 'any' }]),
        {
          code: 'AOS02',
          message: 'exists answered stale_head',
        },
      );
      expect(await readWholeStream(store, 'exists')).toHaveLength(1);
    });

    it('refuses a transition whose fence an earlier transition of the group appends to (AOS01)', async () => {
      await harness.store.append('a-fence', events(1, 's'), { expectedVersion: 'no_stream' });
      await refusedWhole(
        toFour('fenced', [
          { streamId: 'a-fence', events: events(1, 'stop'), expectedVersion: 0 },
          { streamId: 'fenced-run', events: events(1, 'start'), expectedVersion: 'no_stream' },
        ]),
        { code: 'AOS01', message: 'fence of a-fence moved' },
        [undefined, { fenceStream: 'a-fence', fenceVersion: 0 }],
      );
      expect(await readWholeStream(harness.store, 'a-fence')).toHaveLength(1);
    });

    // Two connections at once: PostgreSQL only (PGlite has one).
    if (adapter === postgresAdapter)
      it('refuses a group whose new stream another transaction creates between its check and its insert', async () => {
        const store = harness.store;
        const group = toFour('raced', [
          { streamId: 'raced', events: events(1, 'g'), expectedVersion: 'no_stream' },
        ]);
        let creator: Promise<unknown> = Promise.resolve();
        let commit = () => {};
        // Another transaction creates `raced` and holds its commit until the group waits on it.
        const created = new Promise<void>((resolve) => {
          creator = store.client.transaction(async (tx) => {
            await tx.query(
              `INSERT INTO aos_streams (stream_id, stream_type, tenant_id, version, last_hash, created_at, updated_at)
               VALUES ('raced', 'raced', 'acme', -1, repeat('0', 64), now(), now())`,
            );
            resolve();
            await new Promise<void>((release) => {
              commit = release;
            });
          });
        });
        await created;
        const refused = refusedWhole(group, {
          code: 'AOS02',
          message: 'a stream of the group was created meanwhile',
        });
        await until('the group waits for the creator', async () => {
          const [row] = await store.client.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE wait_event_type = 'Lock' AND query LIKE '%aos_transitions%'`,
          );
          return row!.n > 0;
        });
        commit();
        await creator;
        await refused;
      });
  });
}
