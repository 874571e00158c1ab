// The whole application over one SQL database: store, keys, skills, run queue, executor
// and HTTP server. `aos serve` runs it; integration tests open it in process.
import type { FastifyInstance } from 'fastify';
import type { CanaryDeps } from '../commands/estimator-canary.ts';
import { datasetsInForce } from '../commands/estimator-datasets.ts';
import { createExecutor } from '../commands/executor.ts';
import { watchReferenceWrites } from '../commands/reference-cache.ts';
import { ensureFailureCatalog, ensurePriceTable } from '../commands/reference-data.ts';
import type { SkillPort } from '../commands/skill-port.ts';
import type { SqlClient } from '../domain/store/sql-port.ts';
import { createApiKeyStore } from '../infra/auth/api-key-store.ts';
import { type BootstrapResult, ensureBootstrapKey } from '../infra/auth/bootstrap.ts';
import type { Config } from '../infra/config.ts';
import { createCanaryLock } from '../infra/estimators/canary-lock.ts';
import { scheduleCanary } from '../infra/estimators/canary-schedule.ts';
import { liveDriftFrom } from '../infra/estimators/live-drift.ts';
import { recentRunsFrom } from '../infra/estimators/recent-runs.ts';
import { runQueueFeeder } from '../infra/executor/run-queue-feeder.ts';
import { createSqlBudgetLedger } from '../infra/executor/sql-budget-ledger.ts';
import { createSqlRunQueue } from '../infra/executor/sql-run-queue.ts';
import { startKafkaReadModels } from '../infra/kafka/kafka-read-models.ts';
import { type KafkaPublisher, startPublisher } from '../infra/kafka/publisher.ts';
import { createPrometheusMetrics, instrumentAppends } from '../infra/metrics/prometheus.ts';
import { allMigrations } from '../infra/migrations.ts';
import { createPlanners } from '../infra/planners/index.ts';
import { rateCounterFor } from '../infra/ratelimit/open-rate-counter.ts';
import { loadSigningKey } from '../infra/signing/signing-key.ts';
import { createDefaultSkillPort } from '../infra/skills/index.ts';
import { migrate } from '../infra/store/migrate.ts';
import { openSqlClient } from '../infra/store/open-event-store.ts';
import { monitorReadHorizon } from '../infra/store/read-horizon.ts';
import { createSqlEventStore, type SqlEventStore } from '../infra/store/sql-event-store.ts';
import { startWebhookDispatcher } from '../infra/webhooks/dispatcher.ts';
import { createWebhookSendSkill } from '../infra/webhooks/webhook-send-skill.ts';
import { createWebhookSender } from '../infra/webhooks/webhook-sender.ts';
import { createWebhookStore } from '../infra/webhooks/webhook-store.ts';
import { allProjections } from '../projections/all.ts';
import { startCheckpointedConsumer } from '../readmodels/checkpointed-consumer.ts';
import { type RunningProjections, startProjections } from '../readmodels/projection-runner.ts';
import { registerBreakerGauge } from './breaker-metrics.ts';
import { registerEmergencyStopGauge } from './emergency-stop-metrics.ts';
import { registerEstimatorGauges } from './estimator-metrics.ts';
import { registerScrapeGauges } from './metrics.ts';
import { consoleRoutes } from './routes/console.ts';
import { buildServer } from './server.ts';
import { shippedDatasets } from './shipped-datasets.ts';

export interface AppOverrides {
  /** An already open database (tests); closed with the app. */
  client?: SqlClient;
  clock?: () => Date;
  skills?: SkillPort & { close?: () => Promise<void> };
  executor?: { leaseMs?: number; pollIntervalMs?: number; owner?: string };
}

export interface App {
  server: FastifyInstance;
  store: SqlEventStore;
  bootstrap: BootstrapResult;
  close(): Promise<void>;
}

export async function openApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const clock = overrides.clock ?? (() => new Date());
  const client = overrides.client ?? (await openSqlClient(config));
  await migrate(client, allMigrations);
  // One registry per app (tests run several); appends are timed wherever they come from.
  const metrics = createPrometheusMetrics();
  const store = instrumentAppends(
    createSqlEventStore(client, { clock, maxEventBytes: config.AOS_MAX_EVENT_BYTES }),
    metrics.commands,
  );
  registerScrapeGauges(metrics, {
    sql: client,
    projections: allProjections,
    clock,
    drift: { minSamples: config.AOS_DRIFT_MIN_SAMPLES },
  });
  registerEstimatorGauges(metrics, store);
  registerEmergencyStopGauge(metrics, store);
  registerBreakerGauge(metrics, client);
  await ensurePriceTable(store, clock());
  await ensureFailureCatalog(store, clock());

  // One ledger for the executor and the planners: a planner's call is charged as a step's is.
  const ledger = createSqlBudgetLedger(store);
  // Webhook deliveries and the webhook_send skill sign and send alike, under http_call's SSRF rule.
  const webhookSender = createWebhookSender({ allowHosts: config.AOS_HTTP_ALLOW_HOSTS });
  const webhooks = createWebhookStore(store, clock);
  const skills =
    overrides.skills ??
    createDefaultSkillPort({
      now: clock,
      allowHosts: config.AOS_HTTP_ALLOW_HOSTS,
      extraSkills: [
        createWebhookSendSkill({
          sender: webhookSender,
          target: (tenantId, webhookId) => webhooks.target(tenantId, webhookId),
        }),
      ],
      ...(config.AOS_LLM_BASE_URL
        ? { llm: { baseUrl: config.AOS_LLM_BASE_URL, apiKey: config.AOS_LLM_API_KEY ?? '' } }
        : {}),
    });
  // Answered from memory for AOS_API_KEY_CACHE_MS; a revocation anywhere is heard by NOTIFY.
  const keys = createApiKeyStore(client, {
    clock,
    cacheTtlMs: config.AOS_API_KEY_CACHE_MS,
    revocations: client,
  });
  const unwatchKeys = await keys.watchRevocations();
  const unwatchReferences = await watchReferenceWrites(store, (channel, onNotify) =>
    client.listen(channel, onNotify),
  );
  const queue = createSqlRunQueue(client, store);
  // Read (or generated into the data dir) before serving: a bad AOS_SIGNING_KEY stops start-up.
  const signing = await loadSigningKey(config);
  const canary: CanaryDeps = {
    store,
    clock,
    lock: await createCanaryLock(client),
    recentRuns: recentRunsFrom(client),
    datasets: async () => datasetsInForce(store, await shippedDatasets()),
    policy: {
      minSeverity: config.AOS_BREAKER_MIN_SEVERITY,
      autoRecovery: config.AOS_BREAKER_AUTO_RECOVERY === 'on',
    },
    sampleSize: config.AOS_CANARY_SAMPLE,
    liveDrift: liveDriftFrom(client, { minSamples: config.AOS_DRIFT_MIN_SAMPLES }),
  };
  let horizon: ReturnType<typeof monitorReadHorizon> | undefined;
  const rateCounter = await rateCounterFor(config, client);
  const server = await buildServer({
    store,
    keys,
    commands: {
      store,
      skills,
      clock,
      metrics: metrics.commands,
      runs: queue,
      localAllowHosts: config.AOS_HTTP_ALLOW_HOSTS,
    },
    planning: { planners: createPlanners(config), ledger },
    readModels: client,
    projections: { projections: allProjections, rebuild: (name) => running.rebuild(name) },
    config,
    metrics,
    signing,
    publisherStatus: () => publisher?.status(),
    readHorizon: () => horizon?.current(),
    canary,
    webhooks: { store: webhooks, sender: webhookSender },
    rateCounter,
    emergencyStop: { store, ledger, runs: queue, clock },
  });
  // Looks a few times per warning period: a hold is reported within a quarter of it.
  horizon = monitorReadHorizon(client, {
    intervalMs: Math.min(5_000, Math.max(250, (config.AOS_READ_HORIZON_WARN_SECONDS * 1000) / 4)),
    warnAfterSeconds: config.AOS_READ_HORIZON_WARN_SECONDS,
    log: server.log,
  });
  await server.register(consoleRoutes);
  server.log.info({ keyId: signing.keyId, source: signing.source }, 'audit exports are signed with this key');
  const bootstrap = await ensureBootstrapKey({
    client,
    dataDir: config.AOS_DATA_DIR,
    bootstrapKey: config.AOS_BOOTSTRAP_KEY,
    log: { info: (m) => server.log.info(m), warn: (m) => server.log.warn(m) },
    clock,
  });

  // The safety net: commands make runs due themselves (CommandDeps.runs), so this only catches
  // a run whose enqueue failed after its events were recorded; it need not poll often.
  const feeder = await startCheckpointedConsumer(store, runQueueFeeder, {
    pollIntervalMs: 5_000,
    onError: (error) => server.log.warn({ err: error }, 'run queue feeder failed; retrying'),
  });
  const running = await startReadModels(config, store, server, metrics);
  // The outbox relay to Kafka, whenever brokers are configured (docs/kafka.md).
  const publisher: KafkaPublisher | undefined = config.KAFKA_BROKERS
    ? await startPublisher(store, {
        brokers: config.KAFKA_BROKERS,
        topic: config.AOS_KAFKA_TOPIC,
        partitions: config.AOS_KAFKA_PARTITIONS,
        batchSize: config.AOS_KAFKA_BATCH,
        leaseMs: config.AOS_KAFKA_LEASE_MS,
        ...(config.AOS_INSTANCE_ID ? { instance: config.AOS_INSTANCE_ID } : {}),
        log: server.log,
        metrics,
      })
    : undefined;
  // Every instance enqueues; the holder of the dispatcher lease sends (infra/webhooks/dispatcher.ts).
  const webhookDispatcher = await startWebhookDispatcher(store, {
    sender: webhookSender,
    log: server.log,
    clock,
    backoffMs: config.AOS_WEBHOOK_BACKOFF_MS,
    giveUpAfterMs: config.AOS_WEBHOOK_GIVE_UP_MS,
    leaseMs: config.AOS_WEBHOOK_LEASE_MS,
    ...(config.AOS_INSTANCE_ID ? { instance: config.AOS_INSTANCE_ID } : {}),
  });
  const executor =
    config.AOS_EXECUTOR === 'on'
      ? createExecutor(
          {
            store,
            queue,
            ledger,
            skills,
            clock,
            dayLimitMicros: () => config.AOS_TENANT_DAY_LIMIT_MICROS,
            log: server.log,
            metrics: metrics.commands,
            localAllowHosts: config.AOS_HTTP_ALLOW_HOSTS,
          },
          {
            concurrency: config.AOS_EXECUTOR_CONCURRENCY,
            leaseMs: config.AOS_EXECUTOR_LEASE_MS,
            ...overrides.executor,
          },
        )
      : null;
  executor?.start();
  const canarySchedule =
    config.AOS_CANARY_INTERVAL_MS > 0
      ? scheduleCanary(canary, { intervalMs: config.AOS_CANARY_INTERVAL_MS, log: server.log })
      : undefined;

  return {
    server,
    store,
    bootstrap,
    async close() {
      await server.close();
      await unwatchKeys();
      await unwatchReferences();
      await canarySchedule?.stop();
      await horizon?.stop();
      await executor?.stop();
      await feeder.stop();
      await publisher?.stop();
      await webhookDispatcher.stop();
      await webhookSender.close();
      await rateCounter.close();
      await running.stop();
      await skills.close?.();
      await store.close();
    },
  };
}

/**
 * The read models are fed either by the store-driven runner (default) or, with
 * AOS_PROJECTIONS_SOURCE=kafka, by a Kafka consumer group; never both into the same tables.
 */
async function startReadModels(
  config: Config,
  store: SqlEventStore,
  server: FastifyInstance,
  metrics: ReturnType<typeof createPrometheusMetrics>,
): Promise<RunningProjections> {
  const onError = (error: unknown) => server.log.warn({ err: error }, 'projection failed; retrying');
  if (config.AOS_PROJECTIONS_SOURCE === 'kafka') {
    return startKafkaReadModels(store, {
      brokers: config.KAFKA_BROKERS!,
      topic: config.AOS_KAFKA_TOPIC,
      groupId: config.AOS_KAFKA_GROUP,
      projections: allProjections,
      log: server.log,
      metrics,
      onError,
    });
  }
  // Appends wake the projections (NOTIFY), and a wake-up whose events are held back is read
  // again within milliseconds (infra/store/subscription.ts): the fallback only catches what no
  // wake-up announces, such as a long transaction elsewhere ending or a lost NOTIFY. It is the
  // store's one look at its newest event every 5 s, shared by every subscription
  // (infra/store/head-watch.ts): an idle server reads nothing else.
  return startProjections(store, allProjections, {
    pollIntervalMs: 5_000,
    onError,
  });
}
