// aos_transitions' appends (migration 184): a group the set-wide path takes writes what one
// aos_append per stream wrote — each stream chained on its head, global positions in item,
// append and event order, each append answered in that order — and a group it cannot take goes
// through 183's loop, refused as a whole with the same answer as before.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWholeStream } from '../../commands/handle-command.ts';
import type { NewEvent } from '../../domain/store/envelope.ts';
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

/** aos_transitions with each append as an item of its own; the rows in the order it answered. */
async function transitions(on: SqlExecutor, appends: AppendArguments[]) {
  const items = appends.map((a) =>
    jsonWithArraysOfJson(
      { fenceStream: null, fenceVersion: null, moves: [] },
      { appends: [appendArgumentsJson(a)] },
    ),
  );
  return on.query<AppendedRow & { item: number; stream_id: string }>(
    'SELECT * FROM aos_transitions($1::jsonb)',
    [`[${items.join(',')}]`],
  );
}

async function globalOrder(store: SqlEventStore, eventIds: string[]): Promise<string[]> {
  const rows = await store.client.query<{ event_id: string }>(
    'SELECT event_id::text FROM aos_events WHERE event_id = ANY($1::uuid[]) ORDER BY global_position',
    [eventIds],
  );
  return rows.map((row) => row.event_id);
}

for (const adapter of [pgliteAdapter, postgresAdapter]) {
  describe.runIf(await adapter.available())(`a group of transitions' appends on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    beforeAll(async () => {
      harness = await adapter.open();
      await migrate(harness.store.client, allMigrations);
    });
    afterAll(() => harness.cleanup());

    it('writes new and known streams at once: chained, in order, each answered in its order', async () => {
      const store = harness.store;
      await store.append('group-known', events(2, 'before'), { expectedVersion: 'no_stream' });
      const group = [
        { streamId: 'group-new-a', events: events(2, 'a'), expectedVersion: 'no_stream' as const },
        { streamId: 'group-known', events: events(1, 'k'), expectedVersion: 1 },
        { streamId: 'group-new-b', events: events(3, 'b'), expectedVersion: 'any' as const },
      ];
      let answered: (AppendedRow & { item: number; stream_id: string })[] = [];
      const results = await store.appendWithin(group, (appends) =>
        store.client.transaction(async (tx) => {
          // Set-wide: the group does not call aos_append (renamed away meanwhile) at all.
          await tx.query(`ALTER FUNCTION aos_append(${APPEND_SIGNATURE}) RENAME TO aos_append_aside`);
          answered = await transitions(tx, appends);
          await tx.query(`ALTER FUNCTION aos_append_aside(${APPEND_SIGNATURE}) RENAME TO aos_append`);
          return answered;
        }),
      );

      expect(answered.map((row) => [row.item, row.stream_id, Number(row.stream_version)])).toEqual([
        [1, 'group-new-a', 1],
        [2, 'group-known', 2],
        [3, 'group-new-b', 2],
      ]);
      expect(results!.map((r) => r.streamVersion)).toEqual([1, 2, 2]);
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
      // The store's own head cache moved with the answers: the next append chains on them.
      await store.append('group-new-b', events(1, 'after'), { expectedVersion: 2 });
      expect(verifyChain(await readWholeStream(store, 'group-new-b'))).toMatchObject({ ok: true, count: 4 });
    });

    it('refuses the whole group when one head moved meanwhile, and writes nothing of it', async () => {
      const store = harness.store;
      await store.append('group-moved', events(1, 'x'), { expectedVersion: 'no_stream' });
      const group = [
        { streamId: 'group-fine', events: events(1, 'f'), expectedVersion: 'no_stream' as const },
        { streamId: 'group-moved', events: events(1, 'm'), expectedVersion: 0 },
      ];
      // Another writer (its own head cache) moves group-moved after this store learned its head.
      await harness.another!().append('group-moved', events(1, 'y'), { expectedVersion: 0 });
      await expect(
        store.appendWithin(group, (appends) => transitions(store.client, appends)),
      ).rejects.toMatchObject({
        code: 'AOS02',
        message: expect.stringContaining('group-moved answered wrong_version'),
      });
      expect(await readWholeStream(store, 'group-fine')).toEqual([]);
      expect(await readWholeStream(store, 'group-moved')).toHaveLength(2);
    });

    it('refuses a group with an event recorded before, and one whose new stream exists by now', async () => {
      const store = harness.store;
      const recorded = events(1, 'r');
      await store.append('group-recorded', recorded, { expectedVersion: 'no_stream' });
      const again = [
        { streamId: 'group-fresh', events: events(1, 'f'), expectedVersion: 'no_stream' as const },
        { streamId: 'group-recorded-2', events: recorded, expectedVersion: 'no_stream' as const },
      ];
      await expect(
        store.appendWithin(again, (appends) => transitions(store.client, appends)),
      ).rejects.toMatchObject({
        code: 'AOS02',
        message: expect.stringContaining('answered event_id_conflict'),
      });
      // A store that never saw group-exists takes it for new (expected: any).
      await harness.another!().append('group-exists', events(1, 'e'), { expectedVersion: 'no_stream' });
      const late = [
        { streamId: 'group-fresh', events: events(1, 'f'), expectedVersion: 'no_stream' as const },
        { streamId: 'group-exists', events: events(1, 'l'), expectedVersion: 'any' as const },
      ];
      await expect(
        store.appendWithin(late, (appends) => transitions(store.client, appends)),
      ).rejects.toMatchObject({
        code: 'AOS02',
      });
      expect(await readWholeStream(store, 'group-fresh')).toEqual([]);
      expect(await readWholeStream(store, 'group-exists')).toHaveLength(1);
    });
  });
}
