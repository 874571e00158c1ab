// The read-model side of the runtime queries (POST /v1/runtime/query): attempts, a run's (or an
// agent's latest) context and a tenant day's ledger totals. Every query filters by the caller's
// tenant first.
import type { SqlExecutor } from '../domain/store/sql-port.ts';
import type { LastStepOutcome } from '../projections/run-context.ts';

type Sql = Pick<SqlExecutor, 'query'>;
type Row = Record<string, unknown>;

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : (value as string | null));

function attemptOf(row: Row) {
  return {
    runId: row.run_id as string,
    stepIndex: row.step_index as number,
    stepId: row.step_id as string,
    attempt: row.attempt as number,
    compensation: row.compensation as boolean,
    skill: row.skill as string,
    skillVersion: row.skill_version as string | null,
    inputHash: row.input_hash as string | null,
    outcome: row.outcome as 'running' | 'succeeded' | 'failed' | 'denied' | 'refused',
    errorCode: row.error_code as string | null,
    category: row.category as 'TRANSIENT' | 'PERMANENT' | 'RESOURCE' | 'PERMISSION' | 'VALIDATION' | null,
    retryable: row.retryable as boolean | null,
    message: row.message as string | null,
    startedAt: iso(row.started_at)!,
    endedAt: iso(row.ended_at),
  };
}

/** A run's attempts, or an agent's across its runs, newest first. */
export async function attemptsOf(
  sql: Sql,
  tenantId: string,
  scope: { runId?: string; agentId?: string },
  limit: number,
) {
  const [column, id] = scope.runId !== undefined ? ['run_id', scope.runId] : ['agent_id', scope.agentId];
  const rows = await sql.query<Row>(
    `SELECT * FROM rm_attempts WHERE tenant_id = $1 AND ${column} = $2
      ORDER BY started_at DESC, run_id DESC, step_index DESC, attempt DESC, compensation DESC LIMIT $3`,
    [tenantId, id, limit],
  );
  return rows.map(attemptOf);
}

export interface RunContextRow {
  runId: string;
  agentId: string;
  status: string;
  maxCostMicros: number;
  chargedMicros: number;
  inFlightMicros: number;
  lastStep: LastStepOutcome | null;
}

function runContextOf(row: Row): RunContextRow {
  return {
    runId: row.run_id as string,
    agentId: row.agent_id as string,
    status: row.status as string,
    maxCostMicros: Number(row.max_cost_micros),
    chargedMicros: Number(row.charged_micros),
    inFlightMicros: Number(row.in_flight_micros),
    lastStep: row.last_step as LastStepOutcome | null,
  };
}

export async function runContext(sql: Sql, tenantId: string, runId: string): Promise<RunContextRow | null> {
  const [row] = await sql.query<Row>('SELECT * FROM rm_run_context WHERE tenant_id = $1 AND run_id = $2', [
    tenantId,
    runId,
  ]);
  return row ? runContextOf(row) : null;
}

/** The agent's run whose step ended last. */
export async function latestStepOfAgent(
  sql: Sql,
  tenantId: string,
  agentId: string,
): Promise<RunContextRow | null> {
  const [row] = await sql.query<Row>(
    `SELECT * FROM rm_run_context WHERE tenant_id = $1 AND agent_id = $2 AND last_step_at IS NOT NULL
      ORDER BY last_step_at DESC, run_id DESC LIMIT 1`,
    [tenantId, agentId],
  );
  return row ? runContextOf(row) : null;
}

export interface BudgetDayRow {
  reservedMicros: number;
  settledMicros: number;
  models: Array<{ model: string; committedMicros: number; capMicros: number | null }>;
}

/** A tenant's day as its ledger holds it; zeros before its first reservation. */
export async function budgetDay(sql: Sql, tenantId: string, day: string): Promise<BudgetDayRow> {
  const [row] = await sql.query<Row>(
    'SELECT reserved_micros, settled_micros, models FROM rm_budget_days WHERE tenant_id = $1 AND day = $2::date',
    [tenantId, day],
  );
  if (!row) return { reservedMicros: 0, settledMicros: 0, models: [] };
  return {
    reservedMicros: Number(row.reserved_micros),
    settledMicros: Number(row.settled_micros),
    models: row.models as BudgetDayRow['models'],
  };
}

/** The agent's allowed skills from its registered profile; null for an agent never registered. */
export async function agentAllowedSkills(
  sql: Sql,
  tenantId: string,
  agentId: string,
): Promise<string[] | null> {
  const [row] = await sql.query<{ profile: { allowedSkills?: string[] } }>(
    'SELECT profile FROM rm_agents WHERE tenant_id = $1 AND agent_id = $2',
    [tenantId, agentId],
  );
  return row ? (row.profile.allowedSkills ?? []) : null;
}
