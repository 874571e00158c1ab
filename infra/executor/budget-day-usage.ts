// What a tenant's budget day holds right now, read from the counters the ledger moves with
// every reservation (aos_budget_days, 021_budget_days.sql): exact and current, unlike a read
// model, which is what an agent deciding whether to start more work needs.
import { budgetStreamId } from '../../domain/budget/ledger.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';

export interface BudgetScopeUsage {
  /** '' is the whole day; any other scope is one model's share. */
  scope: string;
  reservedMicros: number;
  settledMicros: number;
  /** The limit (or model cap) the latest reservation was held to; null: none yet. */
  limitMicros: number | null;
}

export async function budgetDayUsage(
  sql: Pick<SqlExecutor, 'query'>,
  tenantId: string,
  at: Date,
): Promise<{ day: string; scopes: BudgetScopeUsage[] }> {
  const dayId = budgetStreamId(tenantId, at.toISOString());
  const rows = await sql.query<{ scope: string; reserved: string; settled: string; limit: string | null }>(
    `SELECT scope, reserved_micros::text AS reserved, settled_micros::text AS settled, limit_micros::text AS limit
       FROM aos_budget_days WHERE day_id = $1 ORDER BY scope`,
    [dayId],
  );
  return {
    day: at.toISOString().slice(0, 10),
    scopes: rows.map((row) => ({
      scope: row.scope,
      reservedMicros: Number(row.reserved),
      settledMicros: Number(row.settled),
      limitMicros: row.limit === null ? null : Number(row.limit),
    })),
  };
}
