// The one configuration object, read from the environment and validated with zod.
// A bad value stops start-up with a message naming the variable and what it allows.
import { z } from 'zod';
import { signingKeySettingProblem } from './signing/signing-key.ts';

const port = z.coerce
  .number({ message: 'must be a number' })
  .int('must be a whole number')
  .min(1, 'must be from 1 to 65535')
  .max(65535, 'must be from 1 to 65535');

const configSchema = z
  .object({
    AOS_STORE: z
      .enum(['pglite', 'postgres'], { message: 'must be "pglite" or "postgres"' })
      .default('pglite'),
    AOS_DATA_DIR: z.string().min(1, 'must not be empty').default('./.aos-data'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    AOS_HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
    AOS_PORT: port.default(8080),
    AOS_MAX_EVENT_BYTES: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of bytes')
      .min(1024, 'must be at least 1024')
      .max(64 * 1024 * 1024, 'must be at most 64 MiB')
      .default(1_048_576),
    AOS_RATE_LIMIT_PER_MINUTE: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of requests')
      .min(1, 'must be from 1 to 1000000 requests per minute per API key')
      .max(1_000_000, 'must be from 1 to 1000000 requests per minute per API key')
      .default(600),
    AOS_TENANT_RATE_LIMIT_PER_MINUTE: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of requests')
      .min(1, 'must be from 1 to 10000000 requests per minute per tenant')
      .max(10_000_000, 'must be from 1 to 10000000 requests per minute per tenant')
      .default(3000),
    /**
     * How long an authenticated key is answered from memory. A revocation through this process
     * takes effect at once, through another when its NOTIFY arrives and within this time at the latest.
     */
    AOS_API_KEY_CACHE_MS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of milliseconds')
      .min(0, 'must be from 0 (no cache) to 60000 ms')
      .max(60_000, 'must be from 0 (no cache) to 60000 ms')
      .default(1000),
    /** redis://…: the rate limits count in Redis instead of PostgreSQL. */
    AOS_REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    AOS_AUTH_FAILURES_PER_MINUTE: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of failed authentications')
      .min(1, 'must be from 1 to 1000000 failed authentications per minute per client address')
      .max(1_000_000, 'must be from 1 to 1000000 failed authentications per minute per client address')
      .default(60),
    /** Bearer token GET /metrics requires; without it, /metrics leaves out per-tenant series. */
    AOS_METRICS_TOKEN: z
      .string()
      .min(32, 'must be at least 32 characters')
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .optional(),
    AOS_READ_HORIZON_WARN_SECONDS: z.coerce
      .number({ message: 'must be a number' })
      .positive('must be more than 0 seconds')
      .max(86_400, 'must be at most 86400 seconds')
      .default(30),
    AOS_LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        message: 'must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
    AOS_BOOTSTRAP_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    AOS_TENANT_DAY_LIMIT_MICROS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of micro-dollars')
      .min(0, 'must not be negative')
      .default(100_000_000),
    // Divergence samples below this count never raise drift_alert (domain/divergence.ts).
    AOS_DRIFT_MIN_SAMPLES: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be from 1 to 1000000')
      .max(1_000_000, 'must be from 1 to 1000000')
      .default(20),
    AOS_EXECUTOR: z.enum(['on', 'off'], { message: 'must be "on" or "off"' }).default('on'),
    // The estimator canary (docs/estimators.md): how often a scheduled one runs (0: never; on
    // demand it always may), how many runs it samples, and the drift breaker's policy.
    AOS_CANARY_INTERVAL_MS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of milliseconds')
      .min(0, 'must be 0 (off) or from 1000 to 604800000')
      .max(604_800_000, 'must be 0 (off) or from 1000 to 604800000')
      .refine((ms) => ms === 0 || ms >= 1000, 'must be 0 (off) or from 1000 to 604800000')
      .default(86_400_000),
    AOS_CANARY_SAMPLE: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of runs')
      .min(1, 'must be from 1 to 1000')
      .max(1000, 'must be from 1 to 1000')
      .default(50),
    AOS_BREAKER_MIN_SEVERITY: z.enum(['P1', 'P2', 'P3'], { message: 'must be P1, P2 or P3' }).default('P2'),
    AOS_BREAKER_AUTO_RECOVERY: z.enum(['on', 'off'], { message: 'must be "on" or "off"' }).default('off'),
    AOS_EXECUTOR_CONCURRENCY: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be from 1 to 256')
      .max(256, 'must be from 1 to 256')
      .default(16),
    AOS_REQUEST_TIMEOUT_MS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of milliseconds')
      .min(100, 'must be from 100 to 600000')
      .max(600_000, 'must be from 100 to 600000')
      .default(30_000),
    AOS_SHUTDOWN_TIMEOUT_MS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of milliseconds')
      .min(100, 'must be from 100 to 600000')
      .max(600_000, 'must be from 100 to 600000')
      .default(10_000),
    AOS_EXECUTOR_LEASE_MS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of milliseconds')
      .min(500, 'must be from 500 to 3600000')
      .max(3_600_000, 'must be from 500 to 3600000')
      .default(30_000),
    AOS_HTTP_ALLOW_HOSTS: z
      .string()
      .default('')
      .transform((list) =>
        list
          .split(',')
          .map((host) => host.trim())
          .filter(Boolean),
      ),
    AOS_LLM_BASE_URL: z.url({ message: 'must be a URL' }).optional(),
    AOS_LLM_API_KEY: z.string().optional(),
    /** The model the LLM planner asks (agents with planner: llm). */
    AOS_PLANNER_MODEL: z.string().min(1).default('gpt-4o-mini'),
    ESDB_URL: z.string().optional(),
    /** host:port[,host:port…]; when set, `aos serve` publishes the event stream to Kafka. */
    KAFKA_BROKERS: z
      .string()
      .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'must be host:port[,host:port…]')
      .optional(),
    AOS_KAFKA_TOPIC: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be 1-249 letters, digits, ".", "_" or "-"')
      .default('aos.events'),
    AOS_KAFKA_PARTITIONS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be from 1 to 1000')
      .max(1000, 'must be from 1 to 1000')
      .default(8),
    AOS_KAFKA_BATCH: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of events')
      .min(1, 'must be from 1 to 10000 events')
      .max(10_000, 'must be from 1 to 10000 events')
      .default(500),
    AOS_KAFKA_GROUP: z.string().min(1, 'must not be empty').default('aos-projections'),
    /** How long the publisher lease lives unrenewed: a standby takes over this soon after the publisher dies. */
    AOS_KAFKA_LEASE_MS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of milliseconds')
      .min(1000, 'must be from 1000 to 600000 ms')
      .max(600_000, 'must be from 1000 to 600000 ms')
      .default(5000),
    /** The first retry of a failed webhook delivery waits this long; each next one twice as long, up to an hour. */
    AOS_WEBHOOK_BACKOFF_MS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of milliseconds')
      .min(10, 'must be from 10 to 3600000 ms')
      .max(3_600_000, 'must be from 10 to 3600000 ms')
      .default(1000),
    /** How long the webhook sender's lease lives unrenewed: a standby sends this soon after the sender dies. */
    AOS_WEBHOOK_LEASE_MS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of milliseconds')
      .min(1000, 'must be from 1000 to 600000 ms')
      .max(600_000, 'must be from 1000 to 600000 ms')
      .default(30_000),
    /** A delivery still failing this long after its first attempt is dead-lettered. */
    AOS_WEBHOOK_GIVE_UP_MS: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number of milliseconds')
      .min(100, 'must be from 100 ms to 30 days')
      .max(30 * 86_400_000, 'must be from 100 ms to 30 days')
      .default(86_400_000),
    /** This instance's name in leases, metrics and /readyz (default: host, pid and a random part). */
    AOS_INSTANCE_ID: z
      .string()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters')
      .optional(),
    /** Where the read models are fed from: the store (default) or the Kafka topic. */
    AOS_PROJECTIONS_SOURCE: z
      .enum(['store', 'kafka'], { message: 'must be "store" or "kafka"' })
      .default('store'),
    AOS_SIGNING_KEY: z
      .string()
      .superRefine((value, ctx) => {
        const problem = signingKeySettingProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    if (config.AOS_STORE === 'postgres' && !config.DATABASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message: 'is required when AOS_STORE=postgres',
      });
    }
    if (config.AOS_PROJECTIONS_SOURCE === 'kafka' && !config.KAFKA_BROKERS) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_BROKERS'],
        message: 'is required when AOS_PROJECTIONS_SOURCE=kafka',
      });
    }
  });

export type Config = z.infer<typeof configSchema>;

const SECRET_SETTINGS = new Set([
  'AOS_BOOTSTRAP_KEY',
  'AOS_LLM_API_KEY',
  'AOS_METRICS_TOKEN',
  'AOS_SIGNING_KEY',
]);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = configSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? 'configuration');
    // Secrets are never echoed back.
    const value = SECRET_SETTINGS.has(name) ? undefined : env[name];
    return `  ${name}: ${issue.message}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}
