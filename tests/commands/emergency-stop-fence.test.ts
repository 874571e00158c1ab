// The fence that makes "no attempt starts after the stop is recorded" strict (migration 090,
// commands/emergency-stop.ts), on PGlite and PostgreSQL, with the stop and the start in two
// stores over the same data (two processes, in effect): a stop waits for an attempt start in
// progress, which commits before it; a start begun while a stop holds the fence waits for it
// and is refused. On PGlite the one connection serialises the two; the outcome is the same.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmergencyStopGate,
  emergencyStop,
  HeldByEmergencyStop,
} from '../../commands/emergency-stop.ts';
import { handleCommand } from '../../commands/handle-command.ts';
import type { Actor } from '../../domain/actor.ts';
import { EMERGENCY_STOP_STREAM, emergencyStopDecider } from '../../domain/emergency-stop/decider.ts';
import { createSqlBudgetLedger } from '../../infra/executor/sql-budget-ledger.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { pgliteAdapter, postgresAdapter, type StoreHarness } from '../support/stores.ts';

const adapters = [pgliteAdapter, ...((await postgresAdapter.available()) ? [postgresAdapter] : [])];
const actor: Actor = { id: 'sys', role: 'system' };
const probe = (runId: string) => [
  {
    eventId: crypto.randomUUID(),
    type: 'RunResumed',
    schemaVersion: 1,
    data: { runId, at: new Date().toISOString() },
    metadata: { tenantId: 'acme' },
  },
];

/** A promise and the function that resolves it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe.each(adapters)('the emergency stop fence on $name', (adapter) => {
  let harness: StoreHarness<SqlEventStore>;
  let other: SqlEventStore;
  beforeEach(async () => {
    harness = await adapter.open();
    await migrate(harness.store.client, allMigrations);
    other = harness.another!();
  });
  afterEach(() => harness.cleanup());

  const stopDeps = (store: SqlEventStore) => ({
    store,
    ledger: createSqlBudgetLedger(store),
    runs: { wakeHolders: () => {}, resumePaused: async () => {} },
    clock: () => new Date(),
  });
  const commitOrder = async () =>
    (await harness.store.readAll({ limit: 100 })).events.map((e) => `${e.streamId}:${e.type}`);

  it('a stop waits for an attempt start in progress, which commits first', async () => {
    const admitted = gate();
    const finish = gate();
    const starts = createEmergencyStopGate(harness.store);
    const start = createSqlBudgetLedger(harness.store).together(async (tx) => {
      await starts.admit(tx, 'acme');
      await tx.store.append('probe-1', probe('probe-1'), { expectedVersion: 'no_stream' });
      // Reading what it wrote makes it a transaction held across the work (not one statement
      // sent at its end), which holds the fence from the admission on.
      await tx.store.readStream('probe-1');
      admitted.open();
      await finish.opened;
    });
    await Promise.race([admitted.opened, start]);
    let stopped = false;
    const stop = emergencyStop(stopDeps(other), {
      tenantId: 'acme',
      actor,
      reason: 'a test of the fence',
    }).then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Held off while the start is open (whatever the machine's load: it cannot get the fence).
    expect(stopped).toBe(false);
    finish.open();
    await start;
    await stop;
    expect(await commitOrder()).toEqual(['probe-1:RunResumed', `${EMERGENCY_STOP_STREAM}:EmergencyStopped`]);
    // A start after the stop sees it.
    const later = createSqlBudgetLedger(harness.store).together((tx) =>
      createEmergencyStopGate(harness.store).admit(tx, 'acme'),
    );
    await expect(later).rejects.toBeInstanceOf(HeldByEmergencyStop);
    // Another tenant is not held.
    await createSqlBudgetLedger(harness.store).together((tx) => starts.admit(tx, 'globex'));
  });

  it('a start decided before the stop but sent after it is refused, not committed after the stop', async () => {
    const decided = gate();
    const finish = gate();
    const starts = createEmergencyStopGate(harness.store);
    let admissions = 0;
    const start = createSqlBudgetLedger(harness.store).together(async (tx) => {
      admissions++;
      await starts.admit(tx, 'acme');
      await tx.store.append('probe-3', probe('probe-3'), { expectedVersion: 'no_stream' });
      decided.open();
      await finish.opened;
    });
    await Promise.race([decided.opened, start]);
    // Sent as one statement at its end, the start holds nothing yet: the stop is not held off.
    await emergencyStop(stopDeps(other), { tenantId: 'acme', actor, reason: 'a test of the fence' });
    finish.open();
    await expect(start).rejects.toBeInstanceOf(HeldByEmergencyStop);
    // Its statement found the fence moved; decided again, the start saw the stop.
    expect(admissions).toBe(2);
    expect(await commitOrder()).toEqual([`${EMERGENCY_STOP_STREAM}:EmergencyStopped`]);
  });

  it('a start begun while a stop holds the fence waits for it and is refused', async () => {
    const fenced = gate();
    const finish = gate();
    const stop = createSqlBudgetLedger(other).together(async (tx) => {
      await tx.fence(EMERGENCY_STOP_STREAM, 'exclusive');
      fenced.open();
      await finish.opened;
      await handleCommand(
        tx.store,
        EMERGENCY_STOP_STREAM,
        emergencyStopDecider,
        { type: 'Stop', tenantId: null, actor, now: new Date().toISOString() },
        { commandId: 'stop-all', metadata: { tenantId: 'system' } },
      );
    });
    await Promise.race([fenced.opened, stop]);
    const starts = createEmergencyStopGate(harness.store);
    let settled = false;
    const start = createSqlBudgetLedger(harness.store)
      .together(async (tx) => {
        await starts.admit(tx, 'acme');
        await tx.store.append('probe-2', probe('probe-2'), { expectedVersion: 'no_stream' });
      })
      .finally(() => {
        settled = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    finish.open();
    await stop;
    await expect(start).rejects.toBeInstanceOf(HeldByEmergencyStop);
    expect(await commitOrder()).toEqual([`${EMERGENCY_STOP_STREAM}:EmergencyStopped`]);
  });
});
