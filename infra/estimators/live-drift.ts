// The live divergence samples (rm_divergence_samples, source `actual`) of the last day, per
// tenant, judged by domain/estimator-live-drift.ts.

import type { DriftRules } from '../../domain/divergence.ts';
import type { DriftSignal } from '../../domain/estimator-breaker.ts';
import { liveDriftSignal } from '../../domain/estimator-live-drift.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { divergenceSamples } from '../../readmodels/queries.ts';

const WINDOW_MS = 24 * 3_600_000;

export function liveDriftFrom(
  sql: Pick<SqlExecutor, 'query'>,
  rules: DriftRules,
): (now: Date) => Promise<DriftSignal | null> {
  return async (now) => {
    const window = { start: new Date(now.getTime() - WINDOW_MS).toISOString(), end: now.toISOString() };
    const tenants = await sql.query<{ tenant_id: string }>(
      `SELECT DISTINCT tenant_id FROM rm_divergence_samples
        WHERE source = 'actual' AND sampled_at >= $1::timestamptz AND sampled_at < $2::timestamptz`,
      [window.start, window.end],
    );
    const byTenant = new Map();
    for (const { tenant_id: tenant } of tenants) {
      byTenant.set(tenant, await divergenceSamples(sql, tenant, 'actual', window));
    }
    return liveDriftSignal(byTenant, window, rules);
  };
}
