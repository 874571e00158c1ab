// A run submitted in this process is handed to this process's executor with the state its
// submission recorded: its claim reads nothing of the run's stream. A state that is not the head
// any more (a cancel recorded between the submission and the claim) fails the first append, which
// reads and decides again.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { benchPrincipal, threeStepPlan } from '../../bench/support/runs.ts';
import { createExecutor } from '../../commands/executor.ts';
import { ensurePriceTable } from '../../commands/reference-data.ts';
import { cancelRun, submitRun } from '../../commands/run-commands.ts';
import type { RunQueue } from '../../commands/run-queue.ts';
import { createSqlBudgetLedger } from '../../infra/executor/sql-budget-ledger.ts';
import { createSqlRunQueue } from '../../infra/executor/sql-run-queue.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { createDefaultSkillPort } from '../../infra/skills/index.ts';
import { migrate } from '../../infra/store/migrate.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { pgliteAdapter, postgresAdapter, type StoreHarness } from '../support/stores.ts';

const adapters = [pgliteAdapter, ...((await postgresAdapter.available()) ? [postgresAdapter] : [])];
const principal = benchPrincipal('acme');

describe.each(adapters)('a submission handed over to the executor on $name', (adapter) => {
  let harness: StoreHarness<SqlEventStore>;
  let reads: string[];
  let store: SqlEventStore;
  const skills = createDefaultSkillPort();
  const clock = () => new Date();

  beforeEach(async () => {
    harness = await adapter.open();
    await migrate(harness.store.client, allMigrations);
    await ensurePriceTable(harness.store, clock());
    reads = [];
    // The store as the executor and the commands see it, every read of a stream noted.
    store = Object.create(harness.store);
    store.readStream = (streamId, options) => {
      reads.push(streamId);
      return harness.store.readStream(streamId, options);
    };
  });
  afterEach(() => harness.cleanup());

  /** An executor over `queue`, and a promise of each run's release as done. */
  function executorOver(queue: RunQueue) {
    const waiting = new Map<string, () => void>();
    const finished = new Set<string>();
    const watched: RunQueue = {
      ...queue,
      async release(runId, owner, next) {
        await queue.release(runId, owner, next);
        if (!('done' in next)) return;
        finished.add(runId);
        waiting.get(runId)?.();
      },
    };
    const executor = createExecutor(
      {
        store,
        queue: watched,
        ledger: createSqlBudgetLedger(store),
        skills,
        clock,
        dayLimitMicros: () => 1e12,
      },
      { pollIntervalMs: 50 },
    );
    const done = (runId: string) =>
      finished.has(runId) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(runId, resolve));
    return { executor, done };
  }

  it('claims the run without reading its stream', async () => {
    const queue = createSqlRunQueue(store.client, store);
    const { executor, done } = executorOver(queue);
    const { runId } = await submitRun({ store, skills, clock, runs: queue }, principal, threeStepPlan(1));
    const released = done(runId);
    executor.start();
    await released;
    await executor.stop();
    expect(reads.filter((id) => id === `run-${runId}`)).toEqual([]);
    const events = await harness.store.readStream(`run-${runId}`);
    expect(events.at(-1)).toMatchObject({ type: 'RunCompleted', data: { status: 'succeeded' } });
  });

  it('takes a run submitted while it has a free slot from its append, and releases it with its last transition', async () => {
    // What the queue sends on its own (its claims and releases).
    const sent: string[] = [];
    const client = Object.create(store.client) as SqlEventStore['client'];
    client.query = (sql, params) => {
      sent.push(sql);
      return store.client.query(sql, params);
    };
    const queue = createSqlRunQueue(client, store);
    let claimed = 0;
    const counted: RunQueue = {
      ...queue,
      async claim(...args) {
        const result = await queue.claim(...args);
        claimed += result.runs.length;
        return result;
      },
    };
    const { executor, done } = executorOver(counted);
    executor.start();
    const runs = await Promise.all(
      [4, 5].map((seed) =>
        submitRun({ store, skills, clock, runs: counted }, principal, threeStepPlan(seed)),
      ),
    );
    await Promise.all(runs.map(({ runId }) => done(runId)));
    await executor.stop();
    expect(claimed).toBe(0);
    expect(reads.filter((id) => id.startsWith('run-'))).toEqual([]);
    for (const { runId } of runs) {
      const events = await harness.store.readStream(`run-${runId}`);
      expect(events.at(-1)).toMatchObject({ type: 'RunCompleted', data: { status: 'succeeded' } });
    }
    const rows = await store.client.query('SELECT lease_owner, done FROM aos_run_queue');
    expect(rows).toEqual(runs.map(() => ({ lease_owner: null, done: true })));
    // Each run was released by its last transition's statement, not by one of its own.
    expect(sent.filter((sql) => /^\s*UPDATE aos_run_queue/.test(sql))).toEqual([]);
  });

  it('reads and decides again when the handed state is not the head any more', async () => {
    const queue = createSqlRunQueue(store.client, store);
    const { executor, done } = executorOver(queue);
    const deps = { store, skills, clock, runs: queue };
    const { runId } = await submitRun(deps, principal, threeStepPlan(2));
    // Recorded before the executor claims the run: the handed state does not show it.
    await cancelRun(deps, principal, runId, 'changed my mind');
    const released = done(runId);
    executor.start();
    await released;
    await executor.stop();
    const events = await harness.store.readStream(`run-${runId}`);
    expect(events.map((e) => e.type)).not.toContain('SkillCallStarted');
    expect(events.at(-1)).toMatchObject({ type: 'RunCompleted', data: { status: 'cancelled' } });
  });
});
