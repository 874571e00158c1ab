// A projection's new version is built beside its live tables: queries see the complete old
// answer until the swap and the new one after it, never a partial one; a build interrupted
// by a crash leaves the old tables answering and is resumed at the next start.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import type { Projection } from '../../projections/projection.ts';
import { startProjections } from '../../readmodels/projection-runner.ts';
import { projectionStatuses } from '../../readmodels/projection-status.ts';
import { events, sleep, until } from '../support/events.ts';
import { type StoreHarness, sqlAdapters } from '../support/stores.ts';
import { openWithTestProjectionTables, testProjection } from '../support/test-projection.ts';

type Sql = Pick<SqlExecutor, 'query'>;

/** Version 2 counts every event twice in the totals: its answer is told apart from version 1's. */
const version2: Projection<{ seen: number }> = {
  ...testProjection,
  version: 2,
  apply(state, event) {
    const { state: next, changes } = testProjection.apply(state, event);
    return {
      state: next,
      changes: changes.map((c) => (c.table === 'rm_test_totals' ? { ...c, values: { events: 2 } } : c)),
    };
  },
};

async function append(store: SqlEventStore, count: number) {
  for (let i = 0; i < count / 20; i++)
    await store.append(`beside-${i % 20}`, events(20), { expectedVersion: 'any' });
}

/** The store, reading events 10 ms slower: a build of 3,000 events takes many observable steps. */
const slowed = (store: SqlEventStore): SqlEventStore => ({
  ...store,
  readAll: async (options) => {
    await sleep(10);
    return store.readAll(options);
  },
});

/** Both tables in one statement, so one answer is one snapshot. */
async function answer(sql: Sql) {
  const [row] = await sql.query<{ events: string | number; total: string | number }>(
    `SELECT (SELECT count(*) FROM rm_test_events) AS events,
            (SELECT coalesce(sum(events), 0) FROM rm_test_totals) AS total`,
  );
  return { events: Number(row!.events), total: Number(row!.total) };
}

const indexNames = async (sql: Sql) =>
  (
    await sql.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename LIKE 'rm_test_%'
        ORDER BY indexname`,
    )
  ).map((row) => row.indexname);

const buildCheckpoint = async (sql: Sql) =>
  (
    await sql.query<{ checkpoint: string }>(
      `SELECT checkpoint FROM aos_checkpoints WHERE name = 'projection:test_counts@v2'`,
    )
  )[0]?.checkpoint;

const shadowRows = async (sql: Sql) =>
  Number((await sql.query<{ n: string | number }>('SELECT count(*) AS n FROM rm_test_events__v2'))[0]!.n);

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`rebuilding beside the live tables on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    let sql: Sql;
    beforeEach(async () => {
      harness = await openWithTestProjectionTables(adapter);
      sql = harness.store.client;
      await append(harness.store, 3000);
      const v1 = await startProjections(harness.store, [testProjection], { pollIntervalMs: 10 });
      await until('version 1 caught up', async () => (await answer(sql)).events === 3000, 60_000);
      await v1.stop();
    });
    afterEach(() => harness.cleanup());

    it('answers completely as version 1 until version 2 is swapped in, then as version 2', async () => {
      const old = { events: 3000, total: 3000 };
      expect(await answer(sql)).toEqual(old);
      const indexesBefore = await indexNames(sql);
      const v2 = await startProjections(slowed(harness.store), [version2], {
        pollIntervalMs: 10,
        batchSize: 100,
      });
      const seen: { events: number; total: number }[] = [];
      await until(
        'version 2 answered',
        async () => {
          seen.push(await answer(sql));
          return seen.at(-1)!.total === 6000;
        },
        60_000,
      );
      const answers = new Set(seen.map((a) => JSON.stringify(a)));
      expect([...answers].sort()).toEqual(
        [JSON.stringify({ events: 3000, total: 6000 }), JSON.stringify(old)].sort(),
      );
      expect(seen.filter((a) => a.total === 3000).length).toBeGreaterThan(1);

      // The build's tables, states and checkpoint are gone; the indexes keep their names.
      expect(await sql.query(`SELECT to_regclass('rm_test_events__v2') AS t`)).toEqual([{ t: null }]);
      expect(await buildCheckpoint(sql)).toBeUndefined();
      expect(await indexNames(sql)).toEqual(indexesBefore);
      expect(await sql.query(`SELECT version FROM aos_projections WHERE name = 'test_counts'`)).toEqual([
        { version: 2 },
      ]);
      // The live consumer goes on from the build's checkpoint.
      await append(harness.store, 100);
      await until('new events folded', async () => (await answer(sql)).total === 6200);
      const [status] = await projectionStatuses(sql, [version2]);
      expect(status!.behindEvents).toBe(0);
      await v2.stop();
    }, 120_000);

    it('keeps version 1 answering after a crash mid-build, and resumes the build at the next start', async () => {
      const first = await startProjections(slowed(harness.store), [version2], {
        pollIntervalMs: 10,
        batchSize: 20,
      });
      await until('the build under way', async () => ((await buildCheckpoint(sql)) ?? '0:0') !== '0:0');
      await first.stop(); // the process dies between two of the build's transactions
      const built = await shadowRows(sql);
      expect(built).toBeGreaterThan(0);
      expect(built).toBeLessThan(3000);
      expect(await answer(sql)).toEqual({ events: 3000, total: 3000 });
      const [status] = await projectionStatuses(sql, [version2]);
      expect(status!.behindEvents).toBeGreaterThan(0);

      // Events arrive while it is down; the old version's tables do not take them.
      await append(harness.store, 200);
      const second = await startProjections(harness.store, [version2], { pollIntervalMs: 10, batchSize: 20 });
      expect(await shadowRows(sql)).toBeGreaterThanOrEqual(built); // resumed, not started over
      const seen: { events: number; total: number }[] = [];
      await until(
        'version 2 answered',
        async () => {
          seen.push(await answer(sql));
          return seen.at(-1)!.total === 6400;
        },
        60_000,
      );
      expect(seen.every((a) => a.total === 6400 || (a.events === 3000 && a.total === 3000))).toBe(true);
      expect(await answer(sql)).toEqual({ events: 3200, total: 6400 });
      await second.stop();
    }, 120_000);
  });
}
