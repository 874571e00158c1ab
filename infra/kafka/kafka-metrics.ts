// The Kafka metrics of one app's registry, made once: the publisher and the consumers share
// the broker-error counter (labelled by which client failed).
import { Counter, Gauge, Registry } from 'prom-client';

export interface KafkaMetrics {
  brokerErrors: Counter<'client'>;
  publishedEvents: Counter;
  consumerLag: Gauge<'topic' | 'partition'>;
  consumedEvents: Counter<'outcome'>;
}

const made = new WeakMap<Registry, KafkaMetrics>();

export function kafkaMetrics(registry: Registry = new Registry()): KafkaMetrics {
  let metrics = made.get(registry);
  if (metrics) return metrics;
  const registers = [registry];
  metrics = {
    brokerErrors: new Counter({
      name: 'aos_kafka_broker_errors_total',
      help: 'Kafka operations that failed (connect, send, commit), by client: publisher or consumer',
      labelNames: ['client'] as const,
      registers,
    }),
    publishedEvents: new Counter({
      name: 'aos_kafka_published_events_total',
      help: 'Events the broker acknowledged (a re-sent event after a crash counts again)',
      registers,
    }),
    consumerLag: new Gauge({
      name: 'aos_kafka_consumer_lag_events',
      help: 'Messages between the projection consumer and the partition high watermark, after its last batch',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    consumedEvents: new Counter({
      name: 'aos_kafka_consumed_events_total',
      help: 'Events the projection consumer read, by outcome: applied or duplicate',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
  made.set(registry, metrics);
  return metrics;
}
