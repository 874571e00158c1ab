// The port through which the executor reserves, settles and releases budget. A command goes
// to the run's ledger for the day it names (`at`: when it was reserved), and is idempotent by
// its command id like every other command. The SQL adapter
// (infra/executor/sql-budget-ledger.ts) keeps the day exact under concurrent reservations.
import type { LedgerCommand } from '../domain/budget/ledger.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import type { CommandContext } from './handle-command.ts';
import type { CommandMetrics } from './metrics.ts';

export interface LedgerTarget {
  tenantId: string;
  runId: string;
  /** An instant of the ledger's UTC day: a reservation is closed in the day it was made. */
  at: string;
}

export interface BudgetLedger {
  /** Records the command's events; a reservation the day has no room for throws BUDGET_EXCEEDED. */
  apply(command: LedgerCommand, target: LedgerTarget, context: CommandContext): Promise<void>;
  /**
   * Runs `work` in one transaction: the ledger commands it applies and the events it appends
   * to other streams (a run's) commit together, or none does — one commit, and as one statement
   * when it can be, for a step's transition. A reservation's refusal (BUDGET_EXCEEDED) is known only at the end of `work`
   * (the day's counters move last, so their row lock is held only until the commit) and rolls
   * everything back. `work` may be run again: it must decide from its inputs only.
   */
  together<T>(work: (tx: LedgerTransaction) => Promise<T>): Promise<T>;
}

/** A statement sent with a transaction's own, its parameters numbered from `first`. */
export type AlongsideStatement = (first: number) => { sql: string; params: unknown[] };

/** What `work` does in a ledger transaction. */
export interface LedgerTransaction {
  ledger: Pick<BudgetLedger, 'apply'>;
  /**
   * The store within the transaction: `readStream` and `append` (a run's command through
   * handleCommand) go through it. Nothing else may be asked of the store meanwhile: on PGlite
   * the transaction holds the one connection. Appends may be held until the end of `work` and
   * sent as one per stream (their results then carry no positions, and a conflict or an earlier
   * recording shows only then: `work` is run again with each append sent at once).
   */
  store: EventStore;
  /**
   * Takes the fence of a stream until the transaction ends and answers the stream's committed
   * version (-1: none) as of then. `shared`: this transaction will not commit after an
   * `exclusive` holder's appends that it did not see — the exclusive taker waits for it, and it
   * waits for an exclusive holder. The emergency stop fences attempt starts this way.
   * `known`: the version the caller last saw. A transaction sent as one statement takes the
   * fence at its start and answers `known` now: if the stream is not at `known` then, nothing
   * commits and `work` is run again in a transaction that asks.
   */
  fence(streamId: string, mode: 'shared' | 'exclusive', known?: number): Promise<number>;
  /**
   * One more statement committed with the transaction (a run queue's release with the run's last
   * transition): `statement(first)` numbers its parameters from `$first`, so that it can be sent
   * in the transaction's own statement. Asked again when `work` is run again.
   */
  alongside(statement: AlongsideStatement): void;
  /**
   * `metrics` as the commands of this transaction should count: each as it ended at the commit,
   * or, when the transaction rolls back, as its error (a day's refusal: BUDGET_EXCEEDED).
   */
  counted(metrics: CommandMetrics): CommandMetrics;
}
