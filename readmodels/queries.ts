// Queries over the read models. Every query takes the caller's tenant and filters by it:
// no parameter can widen it.

import type { DivergenceSample } from '../domain/divergence.ts';
import type { SqlExecutor } from '../domain/store/sql-port.ts';
import { statusHistoryColumns } from '../projections/status-history.ts';
import { cursorKeys, decodeCursor, encodeCursor } from './cursor.ts';
import { Where } from './where.ts';

type Sql = Pick<SqlExecutor, 'query'>;
type Row = Record<string, unknown>;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : (value as string | null));
const num = (value: unknown) => (value === null || value === undefined ? value : Number(value));

// ---- runs ------------------------------------------------------------------------------

export interface RunFilters {
  status?: string;
  agentId?: string;
  startTime?: string;
  endTime?: string;
}

/** An rm_runs row as GET /v1/runs lists it (offline replay shapes its rows the same way). */
export function runListItem(row: Row) {
  const detail = row.detail as { steps: unknown[]; reason: string | null };
  return {
    runId: row.run_id as string,
    agentId: row.agent_id,
    status: row.status,
    costMicros: num(row.cost_micros),
    attempts: row.attempts,
    steps: detail.steps.length,
    reason: detail.reason,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export async function listRuns(
  sql: Sql,
  tenantId: string,
  filters: RunFilters,
  page: { limit: number; cursor?: string },
): Promise<Page<Row>> {
  const where = new Where()
    .filter('tenant_id = ?', tenantId)
    .filter('status = ?', filters.status)
    .filter('agent_id = ?', filters.agentId)
    .filter('created_at >= ?::timestamptz', filters.startTime)
    .filter('created_at < ?::timestamptz', filters.endTime);
  const after = decodeCursor(page.cursor, cursorKeys.run);
  if (after)
    where.add(`(created_at, run_id) < (${where.param(after[0])}::timestamptz, ${where.param(after[1])})`);
  const rows = await sql.query<Row>(
    `SELECT run_id, agent_id, status, cost_micros, attempts, created_at, updated_at, detail FROM rm_runs ${where}
      ORDER BY created_at DESC, run_id DESC LIMIT ${where.param(page.limit + 1)}`,
    where.params,
  );
  const items = rows.slice(0, page.limit).map(runListItem);
  const last = items.at(-1);
  return {
    items,
    next_cursor: rows.length > page.limit && last ? encodeCursor([last.createdAt, last.runId]) : null,
  };
}

// ---- status history ----------------------------------------------------------------------

export interface StatusHistoryFilters {
  entityType?: string;
  entityId?: string;
  actorType?: string;
  newStatus?: string;
  startTime?: string;
  endTime?: string;
}

function statusHistoryWhere(tenantId: string, filters: StatusHistoryFilters): Where {
  return new Where()
    .filter('tenant_id = ?', tenantId)
    .filter('entity_type = ?', filters.entityType)
    .filter('entity_id = ?', filters.entityId)
    .filter('actor_type = ?', filters.actorType)
    .filter('new_status = ?', filters.newStatus)
    .filter('created_at >= ?::timestamptz', filters.startTime)
    .filter('created_at < ?::timestamptz', filters.endTime);
}

export function statusHistoryRow(row: Row): Row {
  return {
    ...row,
    created_at: iso(row.created_at),
    global_position: String(row.global_position),
  };
}

const STATUS_COLUMNS = statusHistoryColumns.join(', ');

/** Oldest first, in commit order; keyset pages. */
export async function statusHistoryPage(
  sql: Sql,
  tenantId: string,
  filters: StatusHistoryFilters,
  page: { limit: number; cursor?: string },
): Promise<Page<Row>> {
  const where = statusHistoryWhere(tenantId, filters);
  const after = decodeCursor(page.cursor, cursorKeys.statusHistory);
  if (after)
    where.add(`(global_position, id) > (${where.param(after[0])}::bigint, ${where.param(after[1])}::uuid)`);
  const rows = await sql.query<Row>(
    `SELECT ${STATUS_COLUMNS} FROM rm_status_history ${where}
      ORDER BY global_position, id LIMIT ${where.param(page.limit + 1)}`,
    where.params,
  );
  const items = rows.slice(0, page.limit).map(statusHistoryRow);
  const last = items.at(-1);
  return {
    items,
    next_cursor:
      rows.length > page.limit && last ? encodeCursor([String(last.global_position), String(last.id)]) : null,
  };
}

/** Every matching row, page by page: memory stays flat however many there are. */
export async function* allStatusHistory(sql: Sql, tenantId: string, filters: StatusHistoryFilters) {
  let cursor: string | undefined;
  do {
    const page = await statusHistoryPage(sql, tenantId, filters, {
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    yield* page.items;
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
}

/** The original AOS's offset pages, newest first: {items, total, limit, offset, has_more}. */
export async function statusHistoryOffsetPage(
  sql: Sql,
  tenantId: string,
  filters: StatusHistoryFilters,
  page: { limit: number; offset: number },
) {
  const where = statusHistoryWhere(tenantId, filters);
  const [count] = await sql.query<{ total: string | number }>(
    `SELECT count(*) AS total FROM rm_status_history ${where}`,
    where.params,
  );
  const rows = await sql.query<Row>(
    `SELECT ${STATUS_COLUMNS} FROM rm_status_history ${where}
      ORDER BY created_at DESC, global_position DESC
      LIMIT ${where.param(page.limit)} OFFSET ${where.param(page.offset)}`,
    where.params,
  );
  const total = Number(count!.total);
  const items = rows.map(statusHistoryRow);
  return {
    items,
    total,
    limit: page.limit,
    offset: page.offset,
    has_more: page.offset + items.length < total,
  };
}

export async function statusHistoryStats(sql: Sql, tenantId: string) {
  const by = async (column: string) => {
    const rows = await sql.query<{ key: string; n: string | number }>(
      `SELECT ${column} AS key, count(*) AS n FROM rm_status_history WHERE tenant_id = $1 GROUP BY ${column}`,
      [tenantId],
    );
    return Object.fromEntries(rows.map((row) => [row.key, Number(row.n)]));
  };
  const [range] = await sql.query<{
    total: string | number;
    oldest: Date | string | null;
    newest: Date | string | null;
  }>(
    'SELECT count(*) AS total, min(created_at) AS oldest, max(created_at) AS newest FROM rm_status_history WHERE tenant_id = $1',
    [tenantId],
  );
  const oldest = iso(range!.oldest);
  const newest = iso(range!.newest);
  return {
    total_records: Number(range!.total),
    records_by_entity_type: await by('entity_type'),
    records_by_actor_type: await by('actor_type'),
    records_by_status: await by('new_status'),
    oldest_record: oldest,
    newest_record: newest,
    time_range_days: oldest && newest ? (Date.parse(newest) - Date.parse(oldest)) / 86_400_000 : 0,
  };
}

// ---- observed latency ----------------------------------------------------------------------

/** How many of the tenant's latest runs the observed latency of a skill is read from. */
export const LATENCY_RUNS = 1000;

/**
 * p50 and p95 (nearest rank: each a recorded figure) of the latencies of the attempts of
 * `skill`'s steps in the tenant's latest runs, from rm_runs' details; null when none was timed.
 */
export async function observedLatency(sql: Sql, tenantId: string, skill: string) {
  const [row] = await sql.query<Row>(
    `SELECT count(*) AS samples,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY latency) AS p50,
            percentile_disc(0.95) WITHIN GROUP (ORDER BY latency) AS p95
       FROM (SELECT detail FROM rm_runs WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT $3) AS r,
            jsonb_array_elements(r.detail->'steps') AS step,
            jsonb_array_elements(step->'attempts') AS attempt,
            LATERAL (SELECT (attempt->>'latencyMs')::numeric AS latency) AS timed
      WHERE step->>'skill' = $2 AND timed.latency IS NOT NULL`,
    [tenantId, skill, LATENCY_RUNS],
  );
  const samples = Number(row?.samples ?? 0);
  if (samples === 0) return null;
  return { samples, p50Ms: Number(row!.p50), p95Ms: Number(row!.p95) };
}

// ---- costs, failures, policy decisions -----------------------------------------------------

export async function costs(
  sql: Sql,
  tenantId: string,
  groupBy: 'day' | 'skill' | 'model',
  range: { startDate?: string; endDate?: string },
) {
  const where = new Where()
    .filter('tenant_id = ?', tenantId)
    .filter('day >= ?::date', range.startDate)
    .filter('day <= ?::date', range.endDate);
  const key = groupBy === 'day' ? "to_char(day, 'YYYY-MM-DD')" : groupBy;
  const rows = await sql.query<Row>(
    `SELECT ${key} AS key, sum(charges) AS charges, sum(charged_micros) AS charged_micros,
            sum(computed_micros) AS computed_micros, sum(provider_micros) AS provider_micros,
            sum(estimate_micros) AS estimate_micros
       FROM rm_costs ${where} GROUP BY 1 ORDER BY 1`,
    where.params,
  );
  return rows.map((row) => ({
    [groupBy]: row.key,
    charges: num(row.charges),
    chargedMicros: num(row.charged_micros),
    computedMicros: num(row.computed_micros),
    providerMicros: num(row.provider_micros),
    estimateMicros: num(row.estimate_micros),
  }));
}

export async function failures(sql: Sql, tenantId: string) {
  const counted = await sql.query<Row>(
    'SELECT error_code, skill, failures, first_at, last_at FROM rm_failures WHERE tenant_id = $1',
    [tenantId],
  );
  const classes = await sql.query<Row>('SELECT * FROM rm_failure_classes WHERE tenant_id = $1', [tenantId]);
  return failureGroups(counted, classes);
}

export function failureItem(row: Row) {
  return {
    skill: row.skill as string,
    failures: num(row.failures) as number,
    firstAt: iso(row.first_at),
    lastAt: iso(row.last_at),
  };
}

function classificationItem(row: Row) {
  return {
    skill: row.skill as string,
    catalogVersion: row.catalog_version as string,
    entryId: (row.entry_id as string | null) ?? null,
    category: row.category as string,
    retry: row.retry as boolean,
    recovery: row.recovery as { mode: string; params: Record<string, unknown> },
    confidence: Number(row.confidence),
    automatic: row.automatic as boolean,
    at: iso(row.at) as string,
  };
}

const earliest = (a: string | null, b: string | null) => (a === null || (b !== null && b < a) ? b : a);
const latest = (a: string | null, b: string | null) => (a === null || (b !== null && b > a) ? b : a);

/**
 * GET /v1/failures from the failures tables (live, or replayed in memory): one item per error
 * code, most frequent first, with its count, first and last seen, the skills it came from, and
 * the catalog's latest classification of it (its recovery is the suggestion).
 */
export function failureGroups(counted: readonly Row[], classes: readonly Row[]) {
  const codes = new Map<string, { errorCode: string; skills: ReturnType<typeof failureItem>[] }>();
  for (const row of counted) {
    const code = row.error_code as string;
    const group = codes.get(code) ?? { errorCode: code, skills: [] };
    group.skills.push(failureItem(row));
    codes.set(code, group);
  }
  const items = [...codes.values()].map(({ errorCode, skills }) => {
    const classified = classes
      .filter((row) => row.error_code === errorCode)
      .map(classificationItem)
      .sort((a, b) => (a.at === b.at ? a.skill.localeCompare(b.skill) : a.at < b.at ? 1 : -1));
    return {
      errorCode,
      failures: skills.reduce((sum, s) => sum + s.failures, 0),
      firstAt: skills.reduce<string | null>((at, s) => earliest(at, s.firstAt), null),
      lastAt: skills.reduce<string | null>((at, s) => latest(at, s.lastAt), null),
      skills: skills.sort((a, b) => b.failures - a.failures || a.skill.localeCompare(b.skill)),
      classification: classified[0] ?? null,
    };
  });
  return items.sort((a, b) => b.failures - a.failures || a.errorCode.localeCompare(b.errorCode));
}

/** The tenant's circuit breakers, open ones first (GET /v1/capabilities). */
export async function breakers(sql: Sql, tenantId: string) {
  const rows = await sql.query<Row>(
    `SELECT target, status, failures, half_open_at, since FROM rm_breakers WHERE tenant_id = $1
      ORDER BY CASE status WHEN 'open' THEN 0 WHEN 'half_open' THEN 1 ELSE 2 END, target`,
    [tenantId],
  );
  return rows.map((row) => ({
    target: row.target as string,
    status: row.status as 'closed' | 'open' | 'half_open',
    failures: Number(row.failures),
    halfOpenAt: iso(row.half_open_at),
    since: iso(row.since),
  }));
}

export function policyDecisionItem(row: Row) {
  return {
    decisionId: row.decision_id,
    runId: row.run_id,
    stepIndex: row.step_index,
    attempt: row.attempt,
    policyVersion: row.policy_version,
    policyHash: row.policy_hash,
    ruleId: row.rule_id,
    inputDigest: row.input_digest,
    result: row.result,
    reason: row.reason,
    input: row.input,
    decidedAt: iso(row.decided_at),
    globalPosition: String(row.global_position),
  };
}

export async function policyDecisions(
  sql: Sql,
  tenantId: string,
  filters: { runId?: string; result?: string },
  page: { limit: number; cursor?: string },
): Promise<Page<Row>> {
  const where = new Where()
    .filter('tenant_id = ?', tenantId)
    .filter('run_id = ?', filters.runId)
    .filter('result = ?', filters.result);
  const after = decodeCursor(page.cursor, cursorKeys.position);
  if (after) where.add(`global_position > ${where.param(after[0])}::bigint`);
  const rows = await sql.query<Row>(
    `SELECT * FROM rm_policy_decisions ${where} ORDER BY global_position LIMIT ${where.param(page.limit + 1)}`,
    where.params,
  );
  const items = rows.slice(0, page.limit).map(policyDecisionItem);
  const last = items.at(-1);
  return {
    items,
    next_cursor: rows.length > page.limit && last ? encodeCursor([last.globalPosition]) : null,
  };
}

// ---- approvals ---------------------------------------------------------------------------

export function approvalItem(row: Row) {
  return {
    approvalId: row.approval_id as string,
    runId: row.run_id as string,
    stepIndex: row.step_index as number,
    stepId: (row.step_id as string | null) ?? null,
    attempt: row.attempt as number,
    status: row.status as string,
    reason: row.reason as string,
    requestedAt: iso(row.requested_at) as string,
    expiresAt: iso(row.expires_at) as string,
    endedAt: iso(row.ended_at ?? null),
    decidedBy: (row.decided_by as string | null) ?? null,
    comment: (row.comment as string | null) ?? null,
    closedReason: (row.closed_reason as string | null) ?? null,
    escalatesAt: iso(row.escalates_at ?? null),
    escalatedAt: iso(row.escalated_at ?? null),
    position: String(row.requested_position),
  };
}

/** The tenant's approvals, oldest request first; the step's id comes from the run's detail. */
export async function listApprovals(
  sql: Sql,
  tenantId: string,
  filters: { status?: string; runId?: string },
  page: { limit: number; cursor?: string },
): Promise<Page<ReturnType<typeof approvalItem>>> {
  const where = new Where()
    .filter('a.tenant_id = ?', tenantId)
    .filter('a.status = ?', filters.status)
    .filter('a.run_id = ?', filters.runId);
  const after = decodeCursor(page.cursor, cursorKeys.position);
  if (after) where.add(`a.requested_position > ${where.param(after[0])}::bigint`);
  const rows = await sql.query<Row>(
    `SELECT a.*, r.detail->'steps'->a.step_index->>'id' AS step_id
       FROM rm_approvals a LEFT JOIN rm_runs r ON r.run_id = a.run_id AND r.tenant_id = a.tenant_id
       ${where} ORDER BY a.requested_position LIMIT ${where.param(page.limit + 1)}`,
    where.params,
  );
  const items = rows.slice(0, page.limit).map(approvalItem);
  const last = items.at(-1);
  return {
    items,
    next_cursor: rows.length > page.limit && last ? encodeCursor([last.position]) : null,
  };
}

// ---- divergence ------------------------------------------------------------------------------

export async function divergenceSamples(
  sql: Sql,
  tenantId: string,
  source: 'estimators' | 'actual',
  range: { start: string; end: string },
) {
  const rows = await sql.query<Row>(
    `SELECT sampled_at, input_hash, baseline_micros, compared_micros, baseline_feasible, compared_feasible,
            skill, model, run_id, step_index
       FROM rm_divergence_samples
      WHERE tenant_id = $1 AND source = $2 AND sampled_at >= $3::timestamptz AND sampled_at < $4::timestamptz
      ORDER BY sampled_at`,
    [tenantId, source, range.start, range.end],
  );
  return rows.map(divergenceSampleOf);
}

/** An rm_divergence_samples row as the divergence report reads it. */
export function divergenceSampleOf(row: Row): DivergenceSample {
  return {
    timestamp: iso(row.sampled_at)!,
    inputHash: row.input_hash as string,
    baselineCostMicros: Number(row.baseline_micros),
    comparedCostMicros: Number(row.compared_micros),
    ...(row.baseline_feasible === null ? {} : { baselineFeasible: row.baseline_feasible as boolean }),
    ...(row.compared_feasible === null ? {} : { comparedFeasible: row.compared_feasible as boolean }),
    ...(row.skill === null ? {} : { skill: row.skill as string }),
    ...(row.model === null ? {} : { model: row.model as string }),
    runId: row.run_id as string,
    ...(row.step_index === null ? {} : { stepIndex: Number(row.step_index) }),
  };
}

// ---- agents ----------------------------------------------------------------------------

export function agentItem(row: Row) {
  return {
    agentId: row.agent_id as string,
    ...(row.profile as Record<string, unknown>),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export async function listAgents(sql: Sql, tenantId: string, max: number) {
  const rows = await sql.query<Row>(
    'SELECT * FROM rm_agents WHERE tenant_id = $1 ORDER BY created_at DESC, agent_id LIMIT $2',
    [tenantId, max],
  );
  return rows.map(agentItem);
}

export async function agentWithRuns(sql: Sql, tenantId: string, agentId: string, recent: number) {
  const [agent] = await sql.query<Row>('SELECT * FROM rm_agents WHERE tenant_id = $1 AND agent_id = $2', [
    tenantId,
    agentId,
  ]);
  if (!agent) return null;
  const runs = await sql.query<Row>(
    'SELECT * FROM rm_runs WHERE tenant_id = $1 AND agent_id = $2 ORDER BY created_at DESC, run_id DESC LIMIT $3',
    [tenantId, agentId, recent],
  );
  return { ...agentItem(agent), recentRuns: runs.map(runListItem) };
}
