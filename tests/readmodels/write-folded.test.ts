// A folded batch is written in as few statements as its tables allow: the writes to different
// tables as the parts of one statement, and a table written twice (two kinds of change) in a
// statement after the first, so that the second write sees the first, as written one by one.
// A projection whose state is its row (stateColumn) keeps it there alone, and folds on from it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import type { Projection } from '../../projections/projection.ts';
import { combinedStatements, type Statement } from '../../readmodels/apply-changes.ts';
import { projectBatch } from '../../readmodels/project-batch.ts';
import { events } from '../support/events.ts';
import { type StoreHarness, sqlAdapters } from '../support/stores.ts';
import { openWithTestProjectionTables, testProjection } from '../support/test-projection.ts';

const write = (table: string): Statement => ({
  table,
  sql: `INSERT INTO ${table} SELECT * FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)`,
  params: [`[${table}]`],
});

describe('combinedStatements', () => {
  it('makes the writes to different tables one statement, their parameters in order', () => {
    const [one, ...more] = combinedStatements([write('a'), write('b'), write('c')]);
    expect(more).toEqual([]);
    expect(one!.params).toEqual(['[a]', '[b]', '[c]']);
    expect(one!.sql).toContain(
      'write_0 AS (INSERT INTO a SELECT * FROM jsonb_populate_recordset(NULL::a, $1::jsonb))',
    );
    expect(one!.sql).toContain(
      'write_2 AS (INSERT INTO c SELECT * FROM jsonb_populate_recordset(NULL::c, $3::jsonb))',
    );
  });

  it('starts another statement at a table written again, and leaves a lone write as it is', () => {
    const statements = combinedStatements([write('a'), write('b'), write('a'), write('c')]);
    expect(statements.map((s) => s.params)).toEqual([
      ['[a]', '[b]'],
      ['[a]', '[c]'],
    ]);
    expect(combinedStatements([write('a')])).toEqual([{ sql: write('a').sql, params: ['[a]'] }]);
  });
});

/** The test projection, whose totals are also set (upsert) before they are counted (increment). */
const setThenCount: Projection<{ seen: number }> = {
  ...testProjection,
  apply(state, event) {
    const counted = testProjection.apply(state, event);
    return {
      state: counted.state,
      changes: [
        {
          table: 'rm_test_totals',
          kind: 'upsert',
          key: { stream_id: event.streamId },
          values: { events: 10 },
        },
        ...counted.changes,
      ],
    };
  },
};

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`writing a folded batch on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    beforeEach(async () => {
      harness = await openWithTestProjectionTables(adapter);
    });
    afterEach(() => harness.cleanup());

    it('keeps a state that is its row in the row alone, and the next batch folds on from it', async () => {
      const { store } = harness;
      const sql = store.client;
      await sql.exec('CREATE TABLE rm_test_state (stream_id text PRIMARY KEY, state jsonb NOT NULL)');
      const inRow: Projection<{ seen: number; last: string | null }> = {
        name: 'test_in_row',
        version: 1,
        tables: [{ name: 'rm_test_state', keyColumns: ['stream_id'], columns: ['state'] }],
        eventTypes: ['Tested'],
        keyOf: (event) => event.streamId,
        initialState: () => ({ seen: 0, last: null }),
        stateColumn: 'state',
        apply(state, event) {
          const next = { seen: state.seen + 1, last: event.eventId };
          const change = {
            table: 'rm_test_state',
            kind: 'upsert' as const,
            key: { stream_id: event.streamId },
          };
          return { state: next, changes: [{ ...change, values: { state: next } }] };
        },
      };
      await store.append('s', events(2), { expectedVersion: 'no_stream' });
      const first = await store.readAll();
      await sql.transaction((tx) => projectBatch(tx, inRow, first.events));
      await store.append('s', events(1), { expectedVersion: 1 });
      const second = await store.readAll({ after: first.checkpoint });
      await sql.transaction((tx) => projectBatch(tx, inRow, second.events));
      expect(await sql.query('SELECT state FROM rm_test_state')).toEqual([
        { state: { seen: 3, last: second.events[0]!.eventId } },
      ]);
      expect(
        await sql.query(`SELECT key FROM aos_projection_state WHERE projection = 'test_in_row'`),
      ).toEqual([]);
    });

    it('writes every table, and a table written twice sees its first write', async () => {
      const { store } = harness;
      await store.append('s', events(3), { expectedVersion: 'no_stream' });
      const { events: recorded } = await store.readAll();
      await store.client.transaction((tx) => projectBatch(tx, setThenCount, recorded));
      const sql = store.client;
      expect(await sql.query('SELECT stream_id, events::int AS events FROM rm_test_totals')).toEqual([
        { stream_id: 's', events: 13 },
      ]);
      expect(await sql.query('SELECT nth FROM rm_test_events ORDER BY nth')).toEqual([
        { nth: 1 },
        { nth: 2 },
        { nth: 3 },
      ]);
      expect(
        await sql.query(
          `SELECT state FROM aos_projection_state WHERE projection = 'test_counts' AND key = 's'`,
        ),
      ).toEqual([{ state: { seen: 3 } }]);
    });
  });
}
