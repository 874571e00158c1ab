// Estimator validation as metrics, read at scrape time from the canary's and the breaker's
// streams (infra/prometheus/alerts.yml alerts on them, P1/P2/P3):
// - aos_estimator_drift_severity{estimator}: the latest canary's severity, 3 = P1, 2 = P2, 1 = P3, 0 = none;
// - aos_estimator_enabled{estimator}: 1 in service, 0 taken out by the drift breaker;
// - aos_estimator_canary_verdict: the latest canary's verdict, 1 pass, 0 fail (absent before the first);
// - aos_estimator_canary_last_timestamp_seconds: when the latest canary completed.
import { breakerState } from '../commands/estimator-breaker.ts';
import { lastCanary } from '../commands/estimator-canary.ts';
import { type CanaryReport, severityRank } from '../domain/estimator-canary.ts';
import { estimatorNames } from '../domain/estimator-dataset.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import type { PrometheusMetrics } from '../infra/metrics/prometheus.ts';

export function registerEstimatorGauges(metrics: PrometheusMetrics, store: EventStore): void {
  const latest = async () => {
    const event = await lastCanary(store);
    return event
      ? { report: event.data as CanaryReport, at: Date.parse(event.recordedAt) / 1000 }
      : undefined;
  };
  metrics.scrapeGauge(
    'aos_estimator_drift_severity',
    "The latest estimator canary's drift severity per estimator: 3 P1, 2 P2, 1 P3, 0 none",
    ['estimator'],
    async () => {
      const canary = await latest();
      return estimatorNames.map((estimator) => ({
        labels: { estimator },
        value: severityRank(canary?.report.severity[estimator] ?? null),
      }));
    },
  );
  metrics.scrapeGauge(
    'aos_estimator_enabled',
    'Whether the estimator is in service (1) or taken out by the drift breaker (0)',
    ['estimator'],
    async () => {
      const state = await breakerState(store);
      return estimatorNames.map((estimator) => ({
        labels: { estimator },
        value: state[estimator].enabled ? 1 : 0,
      }));
    },
  );
  metrics.scrapeGauge(
    'aos_estimator_canary_verdict',
    "The latest estimator canary's verdict: 1 pass, 0 fail",
    [],
    async () => {
      const canary = await latest();
      return canary ? [{ labels: {}, value: canary.report.verdict === 'pass' ? 1 : 0 }] : [];
    },
  );
  metrics.scrapeGauge(
    'aos_estimator_canary_last_timestamp_seconds',
    'When the latest estimator canary completed (Unix seconds)',
    [],
    async () => {
      const canary = await latest();
      return canary ? [{ labels: {}, value: canary.at }] : [];
    },
  );
}
