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
    const finished = new Map<string, () => void>();
    const watched: RunQueue = {
      ...queue,
      async release(runId, owner, next) {
        await queue.release(runId, owner, next);
        if ('done' in next) finished.get(runId)?.();
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
    const done = (runId: string) => new Promise<void>((resolve) => finished.set(runId, resolve));
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
