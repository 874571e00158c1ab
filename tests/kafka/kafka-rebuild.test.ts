// Read models fed from Kafka survive a projection version bump: the new version is built from
// the store beside the live tables while writers keep writing and the consumers keep folding,
// and swapped in once it has caught up with them; afterwards the consumers fold it on. Every
// event is in the new tables exactly once, in stream order, folded the new version's way.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { startKafkaReadModels } from '../../infra/kafka/kafka-read-models.ts';
import { type KafkaPublisher, startPublisher } from '../../infra/kafka/publisher.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import type { Projection } from '../../projections/projection.ts';
import { until } from '../support/events.ts';
import { kafkaBrokers, kafkaReachable, topicCreated, uniqueTopic } from '../support/kafka.ts';
import { postgresReachable } from '../support/postgres.ts';
import { postgresAdapter, type StoreHarness } from '../support/stores.ts';
import {
  auditTestProjection,
  concurrentDelayedWriters,
  openWithTestProjectionTables,
  testProjection,
} from '../support/test-projection.ts';

const available = (await postgresReachable()) && (await kafkaReachable());

/** Version 2 counts each event twice in the totals: which version folded a row shows. */
const testProjectionV2: Projection<{ seen: number }> = {
  ...testProjection,
  version: 2,
  apply(state, event) {
    const result = testProjection.apply(state, event);
    return {
      state: result.state,
      changes: result.changes.map((c) =>
        c.table === 'rm_test_totals' ? { ...c, values: { events: 2 } } : c,
      ),
    };
  },
};

/**
 * Every written event in the read model once, in stream order, and every stream's total the new
 * version's (twice its events: none folded the old way or twice); no build left behind.
 */
async function expectFoldedByVersion2(sql: SqlExecutor, written: string[]) {
  const audit = await auditTestProjection(sql, written);
  expect(audit).toMatchObject({ missing: 0, repeated: 0, wrongSequences: 0 });
  const totals = await sql.query<{ stream_id: string; events: string }>(
    'SELECT stream_id, events FROM rm_test_totals',
  );
  const counts = await sql.query<{ stream_id: string; n: number }>(
    'SELECT stream_id, count(*)::int AS n FROM rm_test_events GROUP BY stream_id',
  );
  expect(new Map(totals.map((t) => [t.stream_id, Number(t.events)]))).toEqual(
    new Map(counts.map((c) => [c.stream_id, 2 * c.n])),
  );
  expect(await sql.query(`SELECT name FROM aos_checkpoints WHERE name LIKE '%@v%'`)).toEqual([]);
  const tables = await sql.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'rm_test%'`,
  );
  expect(tables.map((t) => t.tablename).sort()).toEqual(['rm_test_events', 'rm_test_totals']);
}

const version2SwappedIn = (sql: SqlExecutor) =>
  until('version 2 swapped in', async () => {
    const [row] = await sql.query<{ version: number }>(
      `SELECT version FROM aos_projections WHERE name = 'test_counts'`,
    );
    return row?.version === 2;
  });

describe.runIf(available)('Kafka-fed read models: rebuild on a version bump', () => {
  let harness: StoreHarness<SqlEventStore>;
  let publisher: KafkaPublisher;
  // A topic per test: a new consumer group reads its topic from the beginning.
  let topic: string;
  beforeEach(async () => {
    topic = uniqueTopic();
    harness = await openWithTestProjectionTables(postgresAdapter);
    publisher = await startPublisher(harness.store, {
      brokers: kafkaBrokers,
      topic,
      partitions: 4,
      batchSize: 50,
      pollIntervalMs: 10,
    });
    await topicCreated(kafkaBrokers, topic);
  });
  afterEach(async () => {
    await publisher.stop();
    await harness.cleanup();
  });

  it('builds the new version from the store under load and switches over when caught up', async () => {
    const { store } = harness;
    const sql = store.client;
    const groupId = `rebuild-${randomUUID()}`;
    const settings = { brokers: kafkaBrokers, topic, groupId, sessionTimeoutMs: 6000 };
    const v1 = await startKafkaReadModels(store, { ...settings, projections: [testProjection] });
    const before = await concurrentDelayedWriters(store, { writers: 4, appendsPerWriter: 25, maxDelayMs: 2 });
    expect(await auditTestProjection(sql, before)).toEqual({
      missing: 0,
      repeated: 0,
      wrongTotals: 0,
      wrongSequences: 0,
    });
    await v1.stop();

    // The new version starts while writers write: built beside, swapped in, then folded live.
    // Until the check below, a lock on a live table holds the swap back (it drops the live
    // tables): the build is surely still under way when it is looked at.
    const { v2, building } = await sql.transaction(async (tx) => {
      await tx.query('LOCK TABLE rm_test_events IN ACCESS SHARE MODE');
      const started = await startKafkaReadModels(store, { ...settings, projections: [testProjectionV2] });
      const [row] = await tx.query<{ name: string }>(
        `SELECT name FROM aos_checkpoints WHERE name LIKE '%@v2'`,
      );
      return { v2: started, building: row };
    });
    expect(building?.name).toBe('projection:test_counts@v2');
    const during = await concurrentDelayedWriters(store, { writers: 4, appendsPerWriter: 40, maxDelayMs: 2 });
    await version2SwappedIn(sql);
    const after = await concurrentDelayedWriters(store, { writers: 2, appendsPerWriter: 10, maxDelayMs: 1 });
    const written = [...before, ...during, ...after];

    await expectFoldedByVersion2(sql, written);
    await v2.stop();
  }, 120_000);

  it('two instances start the new version at once: one build is swapped in, once, and the read models are exact', async () => {
    const { store } = harness;
    const other = harness.another!();
    const sql = store.client;
    const groupId = `rebuild-${randomUUID()}`;
    const settings = { brokers: kafkaBrokers, topic, groupId, sessionTimeoutMs: 6000 };
    const instances = [store, other];
    const v1 = await Promise.all(
      instances.map((s) => startKafkaReadModels(s, { ...settings, projections: [testProjection] })),
    );
    const before = await concurrentDelayedWriters(store, { writers: 4, appendsPerWriter: 25, maxDelayMs: 2 });
    expect(await auditTestProjection(sql, before)).toMatchObject({ missing: 0, repeated: 0 });
    for (const running of v1) await running.stop();

    // Both instances find version 1 recorded and start the build beside it, while the consumer
    // group (its partitions split between them) folds what the writers of both instances write.
    const v2 = await Promise.all(
      instances.map((s) => startKafkaReadModels(s, { ...settings, projections: [testProjectionV2] })),
    );
    const during = (
      await Promise.all(
        instances.map((s) =>
          concurrentDelayedWriters(s, { writers: 2, appendsPerWriter: 40, maxDelayMs: 2 }),
        ),
      )
    ).flat();
    await version2SwappedIn(sql);
    const after = await concurrentDelayedWriters(other, { writers: 2, appendsPerWriter: 10, maxDelayMs: 1 });

    await expectFoldedByVersion2(sql, [...before, ...during, ...after]);
    for (const running of v2) await running.stop();
  }, 180_000);
});
