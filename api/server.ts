// Builds the HTTP server: plugins and routes over the application's parts.
import Fastify, { type FastifyInstance } from 'fastify';
import type { BudgetLedger } from '../commands/budget-ledger.ts';
import type { EmergencyStopDeps } from '../commands/emergency-stop.ts';
import type { CanaryDeps } from '../commands/estimator-canary.ts';
import { DEFAULT_SKILL_TIMEOUT_MS } from '../commands/executor.ts';
import type { Planners } from '../commands/planner-port.ts';
import type { CommandDeps } from '../commands/run-commands.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import type { SqlExecutor } from '../domain/store/sql-port.ts';
import type { ApiKeyStore } from '../infra/auth/api-key-store.ts';
import type { Config } from '../infra/config.ts';
import type { PublisherStatus } from '../infra/kafka/publisher.ts';
import type { PrometheusMetrics } from '../infra/metrics/prometheus.ts';
import { memoryRateCounter, type RateCounter } from '../infra/ratelimit/rate-counter.ts';
import type { SigningKey } from '../infra/signing/signing-key.ts';
import type { ReadHorizon } from '../infra/store/read-horizon.ts';
import type { WebhookSender } from '../infra/webhooks/webhook-sender.ts';
import type { WebhookStore } from '../infra/webhooks/webhook-store.ts';
import { keyRoutes } from './auth/key-routes.ts';
import { authPlugin, defaultPublicPaths } from './auth/plugin.ts';
import { useZodSchemas } from './contract-route.ts';
import { clientErrorHandler, errorHandling, frameworkErrors } from './errors.ts';
import { guardInput } from './input-guard.ts';
import { metricsPath, metricsPlugin } from './metrics.ts';
import { registerOpenApi } from './openapi.ts';
import { registerRateLimits } from './rate-limit.ts';
import { agentRoutes } from './routes/agents.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { emergencyStopRoutes } from './routes/emergency-stop.ts';
import { estimatorRoutes } from './routes/estimators.ts';
import { exportRoutes } from './routes/export.ts';
import { healthRoutes } from './routes/health.ts';
import { legacyAgentRoutes } from './routes/legacy-agents.ts';
import { legacySdkRoutes } from './routes/legacy-sdk.ts';
import { type ProjectionRoutesOptions, projectionRoutes } from './routes/projections.ts';
import { queryRoutes } from './routes/queries.ts';
import { referenceDataRoutes } from './routes/reference-data.ts';
import { runRoutes } from './routes/runs.ts';
import { runtimeQueryRoutes } from './routes/runtime-queries.ts';
import { skillRoutes } from './routes/skills.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { whoamiRoutes } from './routes/whoami.ts';
import { slowBodyGuard } from './slow-body-guard.ts';

export interface ServerDeps {
  store: EventStore;
  keys: ApiKeyStore;
  commands: CommandDeps;
  /**
   * The planners goals are planned with, and the budget ledger a planner's call is charged
   * through (the executor's); absent, the agent routes are not served.
   */
  planning?: { planners: Planners; ledger: BudgetLedger };
  /** Where the read models are. */
  readModels: Pick<SqlExecutor, 'query'>;
  projections?: Omit<ProjectionRoutesOptions, 'sql'>;
  config: Pick<Config, 'AOS_LOG_LEVEL' | 'AOS_MAX_EVENT_BYTES'> &
    Partial<
      Pick<
        Config,
        | 'AOS_RATE_LIMIT_PER_MINUTE'
        | 'AOS_TENANT_RATE_LIMIT_PER_MINUTE'
        | 'AOS_REQUEST_TIMEOUT_MS'
        | 'AOS_AUTH_FAILURES_PER_MINUTE'
        | 'AOS_METRICS_TOKEN'
        | 'AOS_READ_HORIZON_WARN_SECONDS'
        | 'AOS_DRIFT_MIN_SAMPLES'
        | 'AOS_TENANT_DAY_LIMIT_MICROS'
      >
    >;
  /** Serves GET /metrics and times requests; absent, neither. */
  metrics?: PrometheusMetrics;
  /** Signs audit exports; absent, GET /v1/export is not served. */
  signing?: SigningKey;
  /** The Kafka publisher's state for /readyz, when one runs. */
  publisherStatus?: () => PublisherStatus | undefined;
  /** The read-horizon monitor's last observation, for /readyz. */
  readHorizon?: () => ReadHorizon | undefined;
  /** The estimator canary's parts; absent, POST /v1/admin/estimators/canary is not served. */
  canary?: CanaryDeps;
  /** Webhook subscriptions and the sender whose SSRF rule their URLs follow; absent, not served. */
  webhooks?: { store: WebhookStore; sender: WebhookSender };
  /** Where the rate limits count: shared by the instances (PostgreSQL, Redis); absent, this process's memory. */
  rateCounter?: RateCounter;
  /** The emergency stop's parts (its fenced stream, the queue it wakes); absent, its routes are not served. */
  emergencyStop?: EmergencyStopDeps;
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
  readHorizon,
  planning,
  canary,
  webhooks,
  rateCounter,
  emergencyStop,
}: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.AOS_LOG_LEVEL },
    bodyLimit: config.AOS_MAX_EVENT_BYTES,
    frameworkErrors,
    clientErrorHandler,
    // Passed to api/input-guard.ts, which refuses them naming the key (fastify would only say
    // "not valid JSON").
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    // Slow or stalled clients (slow-loris bodies) must not hold connections forever.
    requestTimeout: config.AOS_REQUEST_TIMEOUT_MS ?? 30_000,
    connectionTimeout: 60_000,
  });
  useZodSchemas(app);
  errorHandling(app);
  slowBodyGuard(app, config.AOS_REQUEST_TIMEOUT_MS ?? 30_000);
  guardInput(app);
  await app.register(authPlugin, {
    keys,
    publicPaths: [...defaultPublicPaths, metricsPath],
    failuresPerMinute: config.AOS_AUTH_FAILURES_PER_MINUTE ?? 60,
  });
  // Before every route it documents.
  await registerOpenApi(app);
  if (metrics) await app.register(metricsPlugin, { metrics, token: config.AOS_METRICS_TOKEN });
  // Per API key and per tenant (the auth hook has run), counted where every instance sees it.
  const perMinute = config.AOS_RATE_LIMIT_PER_MINUTE ?? 600;
  const perTenantPerMinute = config.AOS_TENANT_RATE_LIMIT_PER_MINUTE ?? 3000;
  await registerRateLimits(app, {
    counter: rateCounter ?? memoryRateCounter(),
    perKeyPerMinute: perMinute,
    perTenantPerMinute,
  });
  await app.register(healthRoutes, {
    store,
    publisherStatus,
    readHorizon,
    readHorizonWarnSeconds: config.AOS_READ_HORIZON_WARN_SECONDS,
  });
  await app.register(keyRoutes, { keys });
  await app.register(whoamiRoutes);
  await app.register(runRoutes, commands);
  await app.register(referenceDataRoutes, commands);
  if (emergencyStop) await app.register(emergencyStopRoutes, emergencyStop);
  await app.register(estimatorRoutes, { commands, canary });
  await app.register(queryRoutes, {
    sql: readModels,
    clock: commands.clock,
    ...(config.AOS_DRIFT_MIN_SAMPLES ? { drift: { minSamples: config.AOS_DRIFT_MIN_SAMPLES } } : {}),
  });
  await app.register(approvalRoutes, { sql: readModels });
  const skillOptions = {
    commands,
    sql: readModels,
    limits: {
      dayLimitMicros: config.AOS_TENANT_DAY_LIMIT_MICROS ?? 100_000_000,
      requestsPerMinute: perMinute,
      tenantRequestsPerMinute: perTenantPerMinute,
      maxRequestBytes: config.AOS_MAX_EVENT_BYTES,
      callTimeoutMs: DEFAULT_SKILL_TIMEOUT_MS,
    },
  };
  await app.register(skillRoutes, skillOptions);
  await app.register(runtimeQueryRoutes, skillOptions);
  await app.register(legacySdkRoutes, skillOptions);
  if (projections) await app.register(projectionRoutes, { sql: readModels, ...projections });
  if (webhooks) await app.register(webhookRoutes, { webhooks: webhooks.store, sender: webhooks.sender });
  if (signing) await app.register(exportRoutes, { store, signing, clock: commands.clock });
  if (planning) {
    const agentCommands = {
      ...commands,
      ...planning,
      dayLimitMicros: () => skillOptions.limits.dayLimitMicros,
    };
    await app.register(agentRoutes, { commands: agentCommands, sql: readModels });
    await app.register(legacyAgentRoutes, { commands: agentCommands });
  }
  return app;
}
