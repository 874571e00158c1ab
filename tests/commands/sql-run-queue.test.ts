// The run queue on SQL keeps a wake-up that arrives while an executor holds the run: an
// approval decided, a cancel asked or a child run ended during a claim makes the run due then,
// even though the executor releases it with a later due time (its retry, an approval's expiry).
// A run's append and its enqueue (appendDue) are one statement: due exactly when recorded.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimedRun, HandedOverRun, LocalTaker } from '../../commands/run-queue.ts';
import type { NewEvent, RecordedEvent } from '../../domain/store/envelope.ts';
import { ConcurrencyError } from '../../domain/store/store-errors.ts';
import { runQueueFeeder } from '../../infra/executor/run-queue-feeder.ts';
import { createSqlRunQueue } from '../../infra/executor/sql-run-queue.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { pgliteAdapter, postgresAdapter, type StoreHarness } from '../support/stores.ts';

const t0 = new Date('2026-05-01T10:00:00.000Z');
const later = (ms: number) => new Date(t0.getTime() + ms);

for (const adapter of [pgliteAdapter, postgresAdapter]) {
  describe.runIf(await adapter.available())(`the SQL run queue on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    beforeAll(async () => {
      harness = await adapter.open();
      await migrate(harness.store.client, allMigrations);
    });
    afterAll(() => harness.cleanup());

    it('keeps a wake-up that came while the run was claimed, and only that one', async () => {
      const queue = createSqlRunQueue(harness.store.client);
      await queue.enqueue([
        { runId: 'woken', tenantId: 'acme', dueAt: t0 },
        { runId: 'quiet', tenantId: 'acme', dueAt: t0 },
      ]);
      const claimed = await queue.claim('executor-1', t0, 30_000, 10);
      expect(claimed.runs.map((r) => r.runId).sort()).toEqual(['quiet', 'woken']);
      // While held: an approval is decided on one of them.
      await queue.enqueue([{ runId: 'woken', tenantId: 'acme', dueAt: later(100) }]);
      // The executor, not knowing, parks both until an hour later.
      for (const runId of ['woken', 'quiet'])
        await queue.release(runId, 'executor-1', { dueAt: later(3_600_000) });
      const next = await queue.claim('executor-2', later(200), 30_000, 10);
      expect(next.runs.map((r) => r.runId)).toEqual(['woken']);
      expect(next.nextDueAt).toEqual(later(3_600_000));
      // Claimed again, the wake-up is spent: released for later, it stays later.
      await queue.release('woken', 'executor-2', { dueAt: later(3_600_000) });
      expect((await queue.claim('executor-3', later(300), 30_000, 10)).runs).toEqual([]);
    });

    it('tells when the next run is due only after a claim that took fewer runs than it asked for', async () => {
      // Before every other test's runs: only this test's are due.
      const early = new Date('2026-04-01T00:00:00.000Z');
      const queue = createSqlRunQueue(harness.store.client);
      const ids = [1, 2, 3].map(() => randomUUID());
      await queue.enqueue(ids.map((runId) => ({ runId, tenantId: 'acme', dueAt: early })));
      // Full: more may be due at once (the caller claims again), so the pending runs are not read.
      const full = await queue.claim('executor-1', early, 30_000, 2);
      expect(full.runs).toHaveLength(2);
      expect(full.nextDueAt).toBeNull();
      // Not full: the next claimable one is the first of those two, when its lease ends.
      const rest = await queue.claim('executor-2', early, 30_000, 5);
      expect(rest.runs).toHaveLength(1);
      expect([...full.runs, ...rest.runs].map((r) => r.runId).sort()).toEqual([...ids].sort());
      expect(rest.nextDueAt).toEqual(new Date(early.getTime() + 30_000));
    });

    it("wakes the holders of a run woken while held, and no holder for a new run's enqueue", async () => {
      const queue = createSqlRunQueue(harness.store.client);
      let claimsWoken = 0;
      let holdersWoken = 0;
      const unwatch = await queue.watch(() => claimsWoken++);
      const unwatchHeld = await queue.watchHeld(() => holdersWoken++);
      try {
        await queue.enqueue([{ runId: 'held-1', tenantId: 'acme', dueAt: t0 }]);
        await until(() => claimsWoken > 0);
        // A new run (a submission) is for claims only: no executor reads its runs' streams for it.
        expect(holdersWoken).toBe(0);
        await queue.claim('executor-h', t0, 30_000, 10);
        // While held: a cancel makes it due; its holder must look at it.
        await queue.enqueue([{ runId: 'held-1', tenantId: 'acme', dueAt: later(10) }]);
        await until(() => holdersWoken > 0);
        holdersWoken = 0;
        // An emergency stop wakes the holders without enqueueing anything.
        queue.wakeHolders();
        await until(() => holdersWoken > 0);
      } finally {
        await unwatch();
        await unwatchHeld();
      }
    });

    it('appends a run and makes it due in one statement: both or neither', async () => {
      const { client } = harness.store;
      const queue = createSqlRunQueue(client, harness.store);
      const event = (tenantId: string): NewEvent => ({
        eventId: randomUUID(),
        type: 'Noted',
        schemaVersion: 1,
        data: { n: 1 },
        metadata: { tenantId },
      });
      const queued = async (runId: string) =>
        client.query<{ tenant_id: string; done: boolean }>(
          'SELECT tenant_id, done FROM aos_run_queue WHERE run_id = $1',
          [runId],
        );
      const recorded = async (streamId: string) => (await harness.store.readStream(streamId)).length;

      const events = [event('acme')];
      await queue.appendDue!(
        'run-due-1',
        events,
        { expectedVersion: 'no_stream' },
        { runId: 'due-1', tenantId: 'acme', dueAt: t0 },
      );
      expect(await recorded('run-due-1')).toBe(1);
      expect(await queued('due-1')).toEqual([{ tenant_id: 'acme', done: false }]);

      // The same events again (a retried command): recorded before, due again, never un-finished.
      await client.query('UPDATE aos_run_queue SET done = true WHERE run_id = $1', ['due-1']);
      const again = await queue.appendDue!(
        'run-due-1',
        events,
        { expectedVersion: 'no_stream' },
        {
          runId: 'due-1',
          tenantId: 'acme',
          dueAt: t0,
        },
      );
      expect(again.duplicate).toBe(true);
      expect(await queued('due-1')).toEqual([{ tenant_id: 'acme', done: true }]);

      // Refused by the expected version: not due.
      await expect(
        queue.appendDue!(
          'run-due-1',
          [event('acme')],
          { expectedVersion: 'no_stream' },
          {
            runId: 'due-2',
            tenantId: 'acme',
            dueAt: t0,
          },
        ),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      expect(await queued('due-2')).toEqual([]);

      // The enqueue fails (no tenant): the events are not recorded either.
      await expect(
        queue.appendDue!(
          'run-due-3',
          [event('acme')],
          { expectedVersion: 'no_stream' },
          {
            runId: 'due-3',
            tenantId: null as unknown as string,
            dueAt: t0,
          },
        ),
      ).rejects.toThrow();
      expect(await recorded('run-due-3')).toBe(0);
      expect(await queued('due-3')).toEqual([]);
    });

    it("leases a newly recorded run to this process's executor with a free slot, in the same statement", async () => {
      const { client } = harness.store;
      const queue = createSqlRunQueue(client, harness.store);
      const taken: ClaimedRun[] = [];
      let slots = 1;
      const taker: LocalTaker = {
        owner: 'executor-local',
        leaseMs: 30_000,
        reserve: () => slots > 0 && slots-- > 0,
        take: (claim) => {
          slots++;
          taken.push(claim);
        },
        unreserve: () => {
          slots++;
        },
      };
      const untake = queue.takeSubmitted!(taker);
      let woken = 0;
      const unwatch = await queue.watch(() => woken++);
      const lease = async (runId: string) =>
        client.query<{ owner: string | null; expires: string | null }>(
          `SELECT lease_owner AS owner, to_char(lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS expires
             FROM aos_run_queue WHERE run_id = $1`,
          [runId],
        );
      const events: NewEvent[] = [
        {
          eventId: randomUUID(),
          type: 'Noted',
          schemaVersion: 1,
          data: { n: 1 },
          metadata: { tenantId: 'acme' },
        },
      ];
      const appendDue = (runId: string, dueAt: Date) =>
        queue.appendDue!(
          `run-${runId}`,
          events,
          { expectedVersion: 'no_stream' },
          { runId, tenantId: 'acme', dueAt },
        );
      try {
        await appendDue('leased-1', t0);
        const state = { state: { status: 'none' }, version: 0, at: t0.getTime() } as unknown as HandedOverRun;
        queue.handOver!('leased-1', state);
        expect(await lease('leased-1')).toEqual([
          { owner: 'executor-local', expires: later(30_000).toISOString() },
        ]);
        // Handed to the taker after the caller's handOver, with that state: nothing is claimed.
        await until(() => taken.length > 0);
        expect(taken).toEqual([{ runId: 'leased-1', tenantId: 'acme', handedOver: state }]);
        expect((await queue.claim('executor-other', later(1), 30_000, 10)).runs).toEqual([]);

        // The same events again (a retried command): no new lease, the slot given back, a wake-up sent.
        await client.query('UPDATE aos_run_queue SET lease_owner = NULL, lease_expires_at = NULL');
        await appendDue('leased-1', t0);
        expect(await lease('leased-1')).toEqual([{ owner: null, expires: null }]);
        expect(slots).toBe(1);
        await until(() => woken > 0);

        // No free slot: due for any executor, as before.
        slots = 0;
        events[0] = { ...events[0]!, eventId: randomUUID() };
        await appendDue('unleased-2', t0);
        expect(await lease('unleased-2')).toEqual([{ owner: null, expires: null }]);
        expect(taken).toHaveLength(1);
      } finally {
        untake();
        await unwatch();
      }
    });

    it('feeds a submitted run that is not queued, and leaves a queued one as it is (no wake-up)', async () => {
      const { client } = harness.store;
      const queue = createSqlRunQueue(client);
      const recorded = (type: string, runId: string, at: Date) =>
        ({
          type,
          data: { runId },
          metadata: { tenantId: 'acme' },
          recordedAt: at.toISOString(),
        }) as unknown as RecordedEvent;
      await queue.enqueue([{ runId: 'fed-held', tenantId: 'acme', dueAt: t0 }]);
      await queue.claim('executor-f', t0, 30_000, 10);
      const row = (runId: string) =>
        client.query<{ lease_owner: string | null; woken: boolean }>(
          'SELECT lease_owner, woken_at IS NOT NULL AS woken FROM aos_run_queue WHERE run_id = $1',
          [runId],
        );
      await runQueueFeeder.apply(client, [
        recorded('RunSubmitted', 'fed-held', t0),
        recorded('RunSubmitted', 'fed-missing', later(5)),
      ]);
      expect(await row('fed-held')).toEqual([{ lease_owner: 'executor-f', woken: false }]);
      expect(await row('fed-missing')).toEqual([{ lease_owner: null, woken: false }]);
      // A cancel is a wake-up: the holder keeps it for its release.
      await runQueueFeeder.apply(client, [recorded('RunCancelRequested', 'fed-held', later(10))]);
      expect(await row('fed-held')).toEqual([{ lease_owner: 'executor-f', woken: true }]);
    });
  });
}

async function until(condition: () => boolean) {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}
