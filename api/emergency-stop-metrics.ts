// The emergency stops in force as a metric, read at scrape time from the stop stream
// (infra/prometheus/alerts.yml alerts on it): aos_emergency_stops_in_force{tenant} is 1 for
// each scope stopped now (`tenant` = the tenant, or `*` for every tenant); no series, no stop.
import { emergencyStopState } from '../commands/emergency-stop.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import type { PrometheusMetrics } from '../infra/metrics/prometheus.ts';

export function registerEmergencyStopGauge(metrics: PrometheusMetrics, store: EventStore): void {
  metrics.scrapeGauge(
    'aos_emergency_stops_in_force',
    'Emergency stops in force: 1 per scope stopped (tenant="*": every tenant)',
    ['tenant'],
    async () => {
      const { state } = await emergencyStopState(store);
      return Object.values(state.stops).map((stop) => ({
        labels: { tenant: stop.tenantId ?? '*' },
        value: 1,
      }));
    },
  );
}
