// Loading a stream incrementally (from a state already folded) must give what a full fold
// gives, and a command that lost a race must decide again on the stream as it now is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleCommand, type Loaded, loadStream } from '../../commands/handle-command.ts';
import {
  dayLedgerDecider as budgetLedgerDecider,
  type LedgerState,
  type Reserve,
} from '../../domain/budget/ledger.ts';
import { isDomainError } from '../../domain/domain-error.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { pgliteAdapter, postgresAdapter, type StoreHarness } from '../support/stores.ts';

const stream = 'budget-acme-2026-01-02';
const metadata = { tenantId: 'acme', actor: 'test', correlationId: 'c' };
const reserve = (id: string, amountMicros: number, limitMicros = 1_000): Reserve => ({
  type: 'Reserve',
  reservationId: id,
  runId: `run-${id}`,
  amountMicros,
  limitMicros,
});
type LedgerCommand = Parameters<typeof budgetLedgerDecider.decide>[0];
const run = (store: SqlEventStore, command: LedgerCommand, known?: Loaded<LedgerState>) =>
  handleCommand(
    store,
    stream,
    budgetLedgerDecider,
    command,
    { commandId: `${command.type}:${command.reservationId}`, metadata },
    known,
  );

for (const adapter of [pgliteAdapter, postgresAdapter]) {
  describe.runIf(await adapter.available())(`handleCommand and loadStream on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    beforeAll(async () => {
      harness = await adapter.open();
    });
    afterAll(() => harness.cleanup());

    it('catches a folded stream up to the same state a full fold gives, reading only the new events', async () => {
      const { store } = harness;
      await run(store, reserve('a', 100));
      const early = await loadStream(store, stream, budgetLedgerDecider);
      expect(early.version).toBe(0);
      await run(store, reserve('b', 200));
      await run(store, { type: 'Settle', reservationId: 'a', actualMicros: 90 });
      const caughtUp = await loadStream(store, stream, budgetLedgerDecider, early);
      const full = await loadStream(store, stream, budgetLedgerDecider);
      expect(caughtUp.recorded.map((e) => e.type)).toEqual(['BudgetReserved', 'BudgetSettled']);
      expect(caughtUp.version).toBe(full.version);
      expect(caughtUp.state).toEqual(full.state);
      const nothingNew = await loadStream(store, stream, budgetLedgerDecider, full);
      expect(nothingNew.recorded).toEqual([]);
      expect(nothingNew.state).toEqual(full.state);
    });

    it('decides again on what others appended since a stale known state, and never passes the limit', async () => {
      const { store } = harness;
      const stale = await loadStream(store, stream, budgetLedgerDecider);
      // 290 of 1,000 committed; another writer takes 600 more after `stale` was read.
      await run(store, reserve('c', 600));
      const refused = await run(store, reserve('d', 200), stale).catch((error) => error);
      expect(isDomainError(refused) && refused.code).toBe('BUDGET_EXCEEDED');
      const accepted = await run(store, reserve('e', 100), stale);
      expect(accepted.events.map((e) => e.type)).toEqual(['BudgetReserved']);
      const full = await loadStream(store, stream, budgetLedgerDecider);
      expect(accepted.version).toBe(full.version);
      expect(accepted.state).toEqual(full.state);
      // The same command once more, from the stale state: recorded already, nothing new.
      const again = await run(store, reserve('e', 100), stale);
      expect(again.version).toBe(full.version);
      expect((await loadStream(store, stream, budgetLedgerDecider)).version).toBe(full.version);
    });
  });
}
