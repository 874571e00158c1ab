// GET /metrics (Prometheus text format, public like /healthz), HTTP request durations, and
// the gauges computed from SQL when Prometheus scrapes: projection lag, the age of the xmin
// horizon, and the divergence drift alert per tenant.
import fp from 'fastify-plugin';
import type { PrometheusMetrics } from '../infra/metrics/prometheus.ts';
import type { SqlExecutor } from '../infra/store/sql-client.ts';
import { divergenceReport } from '../projections/divergence.ts';
import type { AnyProjection } from '../projections/projection.ts';
import { projectionStatuses } from '../readmodels/projection-status.ts';
import { divergenceSamples } from '../readmodels/queries.ts';

export const metricsPath = '/metrics';

export const metricsPlugin = fp<{ metrics: PrometheusMetrics }>(
  async (app, { metrics }) => {
    app.addHook('onResponse', async (request, reply) => {
      // Route patterns only: a URL per series would let any client create series at will.
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.observeHttp(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    });
    app.get(metricsPath, { config: { public: true } }, async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    });
  },
  { name: 'aos-metrics', fastify: '5.x' },
);

/**
 * Oldest running transaction's age: readers of the store cannot pass it (see architecture).
 * This scrape's own backend is left out; on PGlite (one backend) it is therefore always 0.
 */
export async function xminHorizonAgeSeconds(sql: Pick<SqlExecutor, 'query'>): Promise<number> {
  const [row] = await sql.query<{ age: number | string | null }>(
    `SELECT extract(epoch FROM now() - min(xact_start))::float8 AS age
       FROM pg_stat_activity
      WHERE (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL) AND pid <> pg_backend_pid()`,
  );
  const age = Number(row?.age ?? 0);
  return Number.isFinite(age) ? Math.max(0, age) : 0;
}

/** The window over which drift is judged at scrape time, and how long a judgement is reused. */
const DRIFT_WINDOW_MS = 24 * 3_600_000;
const DRIFT_CACHE_MS = 60_000;

export function registerScrapeGauges(
  metrics: PrometheusMetrics,
  options: {
    sql: Pick<SqlExecutor, 'query'>;
    projections: readonly AnyProjection[];
    clock: () => Date;
  },
): void {
  const { sql, projections, clock } = options;
  let statuses: Promise<Awaited<ReturnType<typeof projectionStatuses>>> | undefined;
  // Both lag gauges come from one query per scrape.
  const lag = () => {
    statuses ??= projectionStatuses(sql, projections).finally(() => {
      setTimeout(() => {
        statuses = undefined;
      }, 250).unref();
    });
    return statuses;
  };
  metrics.scrapeGauge(
    'aos_projection_lag_events',
    'Global positions between a projection checkpoint and the store head',
    ['projection'],
    async () => (await lag()).map((s) => ({ labels: { projection: s.name }, value: s.behindEvents })),
  );
  metrics.scrapeGauge(
    'aos_projection_lag_seconds',
    'Seconds between the event at a projection checkpoint and the newest event',
    ['projection'],
    async () => (await lag()).map((s) => ({ labels: { projection: s.name }, value: s.behindSeconds })),
  );
  metrics.scrapeGauge(
    'aos_xmin_horizon_age_seconds',
    'Age of the oldest transaction holding a snapshot or an xid (store readers wait behind it)',
    [],
    async () => [{ labels: {}, value: await xminHorizonAgeSeconds(sql) }],
  );

  let drift:
    | { at: number; samples: Promise<{ labels: Record<string, string>; value: number }[]> }
    | undefined;
  const computeDrift = async () => {
    const end = clock();
    const window = { start: new Date(end.getTime() - DRIFT_WINDOW_MS).toISOString(), end: end.toISOString() };
    const pairs = await sql.query<{ tenant_id: string; source: 'estimators' | 'actual' }>(
      `SELECT DISTINCT tenant_id, source FROM rm_divergence_samples
        WHERE sampled_at >= $1::timestamptz AND sampled_at < $2::timestamptz`,
      [window.start, window.end],
    );
    const samples = [];
    for (const { tenant_id: tenant, source } of pairs) {
      const report = divergenceReport(await divergenceSamples(sql, tenant, source, window), {
        startDate: window.start,
        endDate: window.end,
        source,
      });
      samples.push({ labels: { tenant, source }, value: report.drift_alert ? 1 : 0 });
    }
    return samples;
  };
  metrics.scrapeGauge(
    'aos_divergence_drift_alert',
    'Whether the last 24 hours of cost divergence samples raise a drift alert (1) or not (0), by tenant and source',
    ['tenant', 'source'],
    async () => {
      const now = Date.now();
      if (!drift || now - drift.at > DRIFT_CACHE_MS) {
        const samples = computeDrift();
        drift = { at: now, samples };
        samples.catch(() => {
          drift = undefined;
        });
      }
      return drift.samples;
    },
  );
}
