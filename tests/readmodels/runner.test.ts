// The projection runner's promise: every event takes effect exactly once, whatever the
// commit order of concurrent writers and however many runners run at once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { startProjectionGroup } from '../../readmodels/projection-group.ts';
import { type StoreHarness, sqlAdapters } from '../support/stores.ts';
import {
  auditTestProjection,
  concurrentDelayedWriters,
  openWithTestProjectionTables,
  testProjection,
} from '../support/test-projection.ts';

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`projection runner on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    beforeEach(async () => {
      harness = await openWithTestProjectionTables(adapter);
    });
    afterEach(() => harness.cleanup());

    it('applies every event exactly once under concurrent delayed commits and two competing runners', async () => {
      const { store } = harness;
      const runners = await Promise.all(
        [store, harness.another!()].map((s) =>
          startProjectionGroup(s, [testProjection], {
            pollIntervalMs: 10,
            batchSize: 37,
          }),
        ),
      );
      const written = await concurrentDelayedWriters(store, {
        writers: 6,
        appendsPerWriter: 25,
        maxDelayMs: 3,
      });
      const result = await auditTestProjection(store.client, written);
      await Promise.all(runners.map((r) => r.stop()));
      expect(result).toEqual({ missing: 0, repeated: 0, wrongTotals: 0, wrongSequences: 0 });
    }, 60_000);
  });
}
