// GET /metrics (Prometheus text format), HTTP request durations, and the gauges computed from
// SQL when Prometheus scrapes: projection lag, the age of the xmin and read horizons, and the
// divergence drift alert per tenant. Series labelled by tenant (names, spend, drift) are served
// only to a scraper holding AOS_METRICS_TOKEN; without a token set, /metrics is open but leaves
// them out.
import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import { metrics as metricsRoute } from '../contracts/ops.ts';
import { DEFAULT_DRIFT_RULES, type DriftRules, divergenceReport } from '../domain/divergence.ts';
import type { SqlExecutor } from '../domain/store/sql-port.ts';
import type { PrometheusMetrics } from '../infra/metrics/prometheus.ts';
import { readHorizon } from '../infra/store/read-horizon.ts';
import type { AnyProjection } from '../projections/projection.ts';
import { projectionStatuses } from '../readmodels/projection-status.ts';
import { divergenceSamples } from '../readmodels/queries.ts';
import { routeOf } from './contract-route.ts';
import { HttpError } from './errors.ts';

export const metricsPath = metricsRoute.url;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether the Authorization header carries `token` (compared in constant time). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = BEARER.exec(header ?? '')?.[1];
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

export const metricsPlugin = fp<{ metrics: PrometheusMetrics; token?: string | undefined }>(
  async (app, { metrics, token }) => {
    app.addHook('onResponse', async (request, reply) => {
      // Route patterns only: a URL per series would let any client create series at will.
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.observeHttp(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    });
    // Public to the API-key check: the metrics token is its own credential.
    app.route({
      ...routeOf(metricsRoute),
      config: { ...routeOf(metricsRoute).config, public: true },
      handler: async (request, reply) => {
        if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
          void reply.header('www-authenticate', 'Bearer realm="aos-metrics"');
          throw new HttpError(
            401,
            'UNAUTHENTICATED',
            'GET /metrics needs "Authorization: Bearer <AOS_METRICS_TOKEN>"',
          );
        }
        const open = await metrics.registry.metrics();
        const text = token === undefined ? open : `${open}\n${await metrics.tenantRegistry.metrics()}`;
        return reply.type(metrics.registry.contentType).send(text);
      },
    });
  },
  { name: 'aos-metrics', fastify: '5.x' },
);

/**
 * Oldest running transaction's age in the whole cluster: vacuum cannot clean up behind it
 * (the store's readers wait only for this database's, aos_read_horizon_age_seconds).
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
    /** When drift may alert (AOS_DRIFT_MIN_SAMPLES); default DEFAULT_DRIFT_RULES. */
    drift?: DriftRules;
  },
): void {
  const { sql, projections, clock, drift: rules = DEFAULT_DRIFT_RULES } = options;
  let statuses: Promise<Awaited<ReturnType<typeof projectionStatuses>>> | undefined;
  // Both lag gauges come from one query per scrape.
  const lag = () => {
    statuses ??= projectionStatuses(sql, projections, clock()).finally(() => {
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
    'Age in seconds of the oldest event a projection has not processed yet (0 when caught up)',
    ['projection'],
    async () => (await lag()).map((s) => ({ labels: { projection: s.name }, value: s.behindSeconds })),
  );
  metrics.scrapeGauge(
    'aos_xmin_horizon_age_seconds',
    'Age of the oldest transaction of the cluster holding a snapshot or an xid (vacuum waits behind it)',
    [],
    async () => [{ labels: {}, value: await xminHorizonAgeSeconds(sql) }],
  );
  metrics.scrapeGauge(
    'aos_read_horizon_age_seconds',
    'Age of the oldest write transaction in this database: readers of the event store wait behind it (0 when none)',
    [],
    async () => [{ labels: {}, value: (await readHorizon(sql)).heldSeconds }],
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
      const report = divergenceReport(
        await divergenceSamples(sql, tenant, source, window),
        { startDate: window.start, endDate: window.end, source },
        rules,
      );
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
