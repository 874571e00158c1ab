// Builds the HTTP server: plugins and routes over the application's parts.
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CommandDeps } from '../commands/run-commands.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import type { ApiKeyStore } from '../infra/auth/api-key-store.ts';
import type { Config } from '../infra/config.ts';
import type { PublisherStatus } from '../infra/kafka/publisher.ts';
import type { PrometheusMetrics } from '../infra/metrics/prometheus.ts';
import type { SigningKey } from '../infra/signing/signing-key.ts';
import type { SqlExecutor } from '../infra/store/sql-client.ts';
import { keyRoutes } from './auth/key-routes.ts';
import { authPlugin, defaultPublicPaths } from './auth/plugin.ts';
import { errorHandling, frameworkErrors, HttpError } from './errors.ts';
import { guardInput } from './input-guard.ts';
import { metricsPath, metricsPlugin } from './metrics.ts';
import { registerOpenApi } from './openapi.ts';
import { exportRoutes } from './routes/export.ts';
import { healthRoutes } from './routes/health.ts';
import { type ProjectionRoutesOptions, projectionRoutes } from './routes/projections.ts';
import { queryRoutes } from './routes/queries.ts';
import { runRoutes } from './routes/runs.ts';
import { whoamiRoutes } from './routes/whoami.ts';
import { slowBodyGuard } from './slow-body-guard.ts';

export interface ServerDeps {
  store: EventStore;
  keys: ApiKeyStore;
  commands: CommandDeps;
  /** Where the read models are. */
  readModels: Pick<SqlExecutor, 'query'>;
  projections?: Omit<ProjectionRoutesOptions, 'sql'>;
  config: Pick<Config, 'AOS_LOG_LEVEL' | 'AOS_MAX_EVENT_BYTES'> &
    Partial<Pick<Config, 'AOS_RATE_LIMIT_PER_MINUTE' | 'AOS_REQUEST_TIMEOUT_MS'>>;
  /** Serves GET /metrics and times requests; absent, neither. */
  metrics?: PrometheusMetrics;
  /** Signs audit exports; absent, GET /v1/export is not served. */
  signing?: SigningKey;
  /** The Kafka publisher's state for /readyz, when one runs. */
  publisherStatus?: () => PublisherStatus | undefined;
}

export async function buildServer({
  store,
  keys,
  commands,
  readModels,
  projections,
  config,
  metrics,
  signing,
  publisherStatus,
}: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.AOS_LOG_LEVEL },
    bodyLimit: config.AOS_MAX_EVENT_BYTES,
    frameworkErrors,
    // Slow or stalled clients (slow-loris bodies) must not hold connections forever.
    requestTimeout: config.AOS_REQUEST_TIMEOUT_MS ?? 30_000,
    connectionTimeout: 60_000,
  });
  errorHandling(app);
  slowBodyGuard(app, config.AOS_REQUEST_TIMEOUT_MS ?? 30_000);
  guardInput(app);
  await app.register(authPlugin, { keys, publicPaths: [...defaultPublicPaths, metricsPath] });
  // Before every route it documents.
  await registerOpenApi(app);
  if (metrics) await app.register(metricsPlugin, { metrics });
  // Per API key (the auth hook has run); requests without one, per address. Applies to the
  // routes registered after it: /metrics above is not limited.
  const perMinute = config.AOS_RATE_LIMIT_PER_MINUTE ?? 600;
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => (request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new HttpError(
        429,
        'RATE_LIMITED',
        `rate limit exceeded: at most ${perMinute} requests a minute per API key`,
        {
          limit: context.max,
          retryAfter: context.after,
        },
      ),
  });
  await app.register(healthRoutes, { store, publisherStatus });
  await app.register(keyRoutes, { keys });
  await app.register(whoamiRoutes);
  await app.register(runRoutes, commands);
  await app.register(queryRoutes, { sql: readModels, clock: commands.clock });
  if (projections) await app.register(projectionRoutes, { sql: readModels, ...projections });
  if (signing) await app.register(exportRoutes, { store, signing, clock: commands.clock });
  return app;
}
