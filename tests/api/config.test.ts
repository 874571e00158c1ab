import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../infra/config.ts';

describe('configuration from the environment', () => {
  it('reads AOS_DRIFT_MIN_SAMPLES, default 20', () => {
    expect(loadConfig({}).AOS_DRIFT_MIN_SAMPLES).toBe(20);
    expect(loadConfig({ AOS_DRIFT_MIN_SAMPLES: '5' }).AOS_DRIFT_MIN_SAMPLES).toBe(5);
  });

  it('defaults to the embedded store on port 8080', () => {
    expect(loadConfig({})).toMatchObject({
      AOS_STORE: 'pglite',
      AOS_DATA_DIR: './.aos-data',
      AOS_PORT: 8080,
      AOS_MAX_EVENT_BYTES: 1_048_576,
    });
  });

  it('reads PostgreSQL settings', () => {
    const config = loadConfig({
      AOS_STORE: 'postgres',
      DATABASE_URL: 'postgres://u@h:5432/db',
      AOS_PORT: '9000',
    });
    expect(config).toMatchObject({
      AOS_STORE: 'postgres',
      DATABASE_URL: 'postgres://u@h:5432/db',
      AOS_PORT: 9000,
    });
  });

  it('reads Kafka settings, with the topic and group defaults', () => {
    expect(loadConfig({ KAFKA_BROKERS: '127.0.0.1:19092,kafka-2:9092' })).toMatchObject({
      KAFKA_BROKERS: '127.0.0.1:19092,kafka-2:9092',
      AOS_KAFKA_TOPIC: 'aos.events',
      AOS_KAFKA_GROUP: 'aos-projections',
      AOS_PROJECTIONS_SOURCE: 'store',
    });
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ AOS_STORE: 'mysql' }, /AOS_STORE: must be "pglite" or "postgres" \(got "mysql"\)/],
    [{ AOS_PORT: 'abc' }, /AOS_PORT: must be a number \(got "abc"\)/],
    [{ AOS_PORT: '70000' }, /AOS_PORT: must be from 1 to 65535/],
    [{ AOS_PORT: '80.5' }, /AOS_PORT: must be a whole number/],
    [{ AOS_STORE: 'postgres' }, /DATABASE_URL: is required when AOS_STORE=postgres/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [{ AOS_LOG_LEVEL: 'loud' }, /AOS_LOG_LEVEL: must be one of/],
    [{ AOS_MAX_EVENT_BYTES: '10' }, /AOS_MAX_EVENT_BYTES: must be at least 1024/],
    [{ KAFKA_BROKERS: 'kafka' }, /KAFKA_BROKERS: must be host:port\[,host:port…\] \(got "kafka"\)/],
    [{ AOS_KAFKA_TOPIC: 'a topic' }, /AOS_KAFKA_TOPIC: must be 1-249 letters/],
    [{ AOS_PROJECTIONS_SOURCE: 'kafka' }, /KAFKA_BROKERS: is required when AOS_PROJECTIONS_SOURCE=kafka/],
    [{ AOS_DRIFT_MIN_SAMPLES: '0' }, /AOS_DRIFT_MIN_SAMPLES: must be from 1 to 1000000/],
    [{ AOS_DRIFT_MIN_SAMPLES: '2.5' }, /AOS_DRIFT_MIN_SAMPLES: must be a whole number/],
    [{ AOS_METRICS_TOKEN: 'short' }, /AOS_METRICS_TOKEN: must be at least 32 characters$/m],
    [
      { AOS_METRICS_TOKEN: `${'x'.repeat(32)} y` },
      /AOS_METRICS_TOKEN: must be printable ASCII without spaces$/m,
    ],
    [{ AOS_AUTH_FAILURES_PER_MINUTE: '0' }, /AOS_AUTH_FAILURES_PER_MINUTE: must be from 1 to 1000000/],
    [{ AOS_READ_HORIZON_WARN_SECONDS: '0' }, /AOS_READ_HORIZON_WARN_SECONDS: must be more than 0 seconds/],
  ];
  for (const [env, message] of bad) {
    it(`refuses ${JSON.stringify(env)} naming the variable`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    });
  }

  it('reads the metrics token, the failed-authentication limit and the read-horizon warning, with defaults', () => {
    const defaults = loadConfig({});
    expect(defaults.AOS_METRICS_TOKEN).toBeUndefined();
    expect(defaults.AOS_AUTH_FAILURES_PER_MINUTE).toBe(60);
    expect(defaults.AOS_READ_HORIZON_WARN_SECONDS).toBe(30);
    const set = loadConfig({
      AOS_METRICS_TOKEN: 'm'.repeat(40),
      AOS_AUTH_FAILURES_PER_MINUTE: '10',
      AOS_READ_HORIZON_WARN_SECONDS: '2.5',
    });
    expect(set).toMatchObject({
      AOS_METRICS_TOKEN: 'm'.repeat(40),
      AOS_AUTH_FAILURES_PER_MINUTE: 10,
      AOS_READ_HORIZON_WARN_SECONDS: 2.5,
    });
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ AOS_STORE: 'x', AOS_PORT: 'y' })).toThrow(/AOS_STORE[\s\S]*AOS_PORT/);
  });
});
