// aos_circuit_breaker_state{tenant,target}: every circuit breaker as the breakers read model
// (rm_breakers) has it, read when Prometheus scrapes. The read model is shared by every
// instance, so each reports the same state for a breaker, whichever process changed it
// (infra/prometheus/alerts.yml, AosCircuitBreakerOpen, alerts on it).
import type { BreakerStatus } from '../domain/breaker/decider.ts';
import type { SqlExecutor } from '../domain/store/sql-port.ts';
import type { PrometheusMetrics } from '../infra/metrics/prometheus.ts';

const levels: Record<BreakerStatus, number> = { closed: 0, half_open: 1, open: 2 };

export function registerBreakerGauge(metrics: PrometheusMetrics, sql: Pick<SqlExecutor, 'query'>): void {
  metrics.scrapeGauge(
    'aos_circuit_breaker_state',
    'Circuit breakers by tenant and target, as the breakers read model has them: 0 closed, 1 half-open, 2 open',
    ['tenant', 'target'],
    async () => {
      const rows = await sql.query<{ tenant_id: string; target: string; status: BreakerStatus }>(
        'SELECT tenant_id, target, status FROM rm_breakers',
      );
      return rows.map((row) => ({
        labels: { tenant: row.tenant_id, target: row.target },
        value: levels[row.status],
      }));
    },
  );
}
