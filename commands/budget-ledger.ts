// The port through which the executor reserves, settles and releases budget. A command goes
// to the run's ledger for the day it names (`at`: when it was reserved), and is idempotent by
// its command id like every other command. The SQL adapter
// (infra/executor/sql-budget-ledger.ts) keeps the day exact under concurrent reservations.
import type { LedgerCommand } from '../domain/budget/ledger.ts';
import type { CommandContext } from './handle-command.ts';

export interface LedgerTarget {
  tenantId: string;
  runId: string;
  /** An instant of the ledger's UTC day: a reservation is closed in the day it was made. */
  at: string;
}

export interface BudgetLedger {
  /** Records the command's events; a reservation the day has no room for throws BUDGET_EXCEEDED. */
  apply(command: LedgerCommand, target: LedgerTarget, context: CommandContext): Promise<void>;
}
