// The live projections fold as one consumer, but each keeps its own checkpoint: a projection
// that is ahead of another (it ran alone before, or was swapped in from a rebuild) folds only
// what is past its own checkpoint, the other everything from its own, each exactly once, with
// competing runners in other processes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { startProjectionGroup } from '../../readmodels/projection-group.ts';
import { events, until } from '../support/events.ts';
import { type StoreHarness, sqlAdapters } from '../support/stores.ts';
import {
  auditTestProjection,
  concurrentDelayedWriters,
  countingProjection,
  openWithTestProjectionTables,
  testProjection,
} from '../support/test-projection.ts';

const second = countingProjection('test_counts_b', '_b');
const clean = { missing: 0, repeated: 0, wrongTotals: 0, wrongSequences: 0 };

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`projection group on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    beforeEach(async () => {
      harness = await openWithTestProjectionTables(adapter, ['', '_b']);
    });
    afterEach(() => harness.cleanup());

    it('folds a projection that is ahead and one from the start, each exactly once, with two runners', async () => {
      const { store } = harness;
      const writers = { writers: 4, appendsPerWriter: 20, maxDelayMs: 3 };
      const settings = { pollIntervalMs: 10, batchSize: 37 };
      // The first projection alone: its checkpoint ends somewhere in what the group reads next.
      const alone = await startProjectionGroup(store, [testProjection], settings);
      const early = await concurrentDelayedWriters(store, writers);
      expect(await auditTestProjection(store.client, early)).toEqual(clean);
      await alone.stop();

      const between = await concurrentDelayedWriters(store, writers);
      const runners = await Promise.all(
        [store, harness.another!()].map((s) => startProjectionGroup(s, [testProjection, second], settings)),
      );
      const late = await concurrentDelayedWriters(store, writers);
      const all = [...early, ...between, ...late];
      const first = await auditTestProjection(store.client, all);
      const other = await auditTestProjection(store.client, all, 60_000, '_b');
      await Promise.all(runners.map((r) => r.stop()));
      expect(first).toEqual(clean);
      expect(other).toEqual(clean);
      const checkpoints = await store.client.query<{ checkpoint: string }>(
        `SELECT DISTINCT checkpoint FROM aos_checkpoints WHERE name IN ('projection:test_counts', 'projection:test_counts_b')`,
      );
      expect(checkpoints).toHaveLength(1);
    }, 60_000);

    it('folds from the stored states once anything else has written a checkpoint row since its last commit', async () => {
      const { store } = harness;
      const group = await startProjectionGroup(store, [testProjection], {
        pollIntervalMs: 10,
        batchSize: 10,
      });
      const nths = async () =>
        (
          await store.client.query<{ nth: number }>(
            `SELECT nth FROM rm_test_events WHERE stream_id = 'kept' ORDER BY nth`,
          )
        ).map((row) => row.nth);
      await store.append('kept', events(3), { expectedVersion: 'no_stream' });
      await until('three events are folded', async () => (await nths()).length === 3);
      // Another writer (a rebuild's swap, a repair) replaces the state and rewrites the row.
      await store.client.transaction(async (tx) => {
        await tx.query(
          `UPDATE aos_projection_state SET state = '{"seen": 100}' WHERE projection = 'test_counts' AND key = 'kept'`,
        );
        await tx.query(
          `UPDATE aos_checkpoints SET checkpoint = checkpoint WHERE name = 'projection:test_counts'`,
        );
      });
      await store.append('kept', events(1), { expectedVersion: 2 });
      await until('the fourth is folded', async () => (await nths()).length === 4);
      await group.stop();
      expect(await nths()).toEqual([1, 2, 3, 101]);
    }, 60_000);

    it('takes a projection added later from its own checkpoint', async () => {
      const { store } = harness;
      const writers = { writers: 3, appendsPerWriter: 15, maxDelayMs: 2 };
      const settings = { pollIntervalMs: 10, batchSize: 25 };
      const group = await startProjectionGroup(store, [testProjection], settings);
      const before = await concurrentDelayedWriters(store, writers);
      expect(await auditTestProjection(store.client, before)).toEqual(clean);
      await group.add(second);
      const after = await concurrentDelayedWriters(store, writers);
      const first = await auditTestProjection(store.client, [...before, ...after]);
      const other = await auditTestProjection(store.client, [...before, ...after], 60_000, '_b');
      await group.stop();
      expect(first).toEqual(clean);
      expect(other).toEqual(clean);
    }, 60_000);
  });
}
