// The outbox relay: reads the store gap-free from its own checkpoint and publishes each event
// to the topic, keyed by stream id so a stream keeps its order on one partition. The checkpoint
// moves only after the broker acknowledged the batch (acks = all, idempotent producer), so a
// crash re-sends at most the batch in flight: at-least-once, and each message carries the
// event id and stream position a consumer deduplicates by.
//
// The send happens outside any database transaction on purpose: a transaction held open
// through a broker outage would hold back the xmin horizon, and with it every gap-free reader
// of the store (projections, the run-queue feeder).
import { setTimeout as sleep } from 'node:timers/promises';
import { type Admin, type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import type { Subscription } from '../../domain/store/event-store.ts';
import { readCheckpoint } from '../../readmodels/checkpointed-consumer.ts';
import { checkpointLags } from '../../readmodels/projection-status.ts';
import type { PrometheusMetrics } from '../metrics/prometheus.ts';
import type { SqlEventStore } from '../store/sql-event-store.ts';
import { createKafka, eventMessage, type KafkaLog, silentLog } from './kafka-client.ts';
import { kafkaMetrics } from './kafka-metrics.ts';

export const PUBLISHER_CHECKPOINT = 'kafka-publisher';

export interface PublisherOptions {
  brokers: string;
  topic: string;
  /** Partitions of the topic when the publisher creates it. */
  partitions: number;
  /** Events per send (and per checkpoint move). */
  batchSize: number;
  log?: KafkaLog;
  metrics?: PrometheusMetrics;
  pollIntervalMs?: number;
  /** Longest wait between attempts while the broker is unreachable. */
  maxBackoffMs?: number;
}

export interface PublisherStatus {
  state: 'connecting' | 'publishing' | 'broker-unavailable' | 'stopped';
  /** Global position of the last acknowledged event, or null before the first. */
  publishedPosition: string | null;
  lastError: string | null;
  /** ISO time of the last state change. */
  since: string;
}

export interface KafkaPublisher {
  status(): PublisherStatus;
  stop(): Promise<void>;
}

export async function startPublisher(
  store: SqlEventStore,
  options: PublisherOptions,
): Promise<KafkaPublisher> {
  const log = options.log ?? silentLog;
  const metrics = kafkaMetrics(options.metrics?.registry);
  const kafka: Kafka = createKafka({ brokers: options.brokers, clientId: 'aos-publisher', log });
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const status: PublisherStatus = {
    state: 'connecting',
    publishedPosition: null,
    lastError: null,
    since: new Date().toISOString(),
  };
  const setState = (state: PublisherStatus['state'], error?: unknown) => {
    if (status.state !== state) status.since = new Date().toISOString();
    status.state = state;
    status.lastError = error === undefined ? status.lastError : String(error);
  };

  options.metrics?.scrapeGauge(
    'aos_kafka_publish_lag_events',
    'Global positions between the Kafka publisher checkpoint and the store head',
    [],
    async () => [{ labels: {}, value: (await lag()).behindEvents }],
  );
  options.metrics?.scrapeGauge(
    'aos_kafka_publish_lag_seconds',
    'Seconds between the last published event and the newest event in the store',
    [],
    async () => [{ labels: {}, value: (await lag()).behindSeconds }],
  );
  const lag = async () =>
    (await checkpointLags(store.client, [PUBLISHER_CHECKPOINT])).get(PUBLISHER_CHECKPOINT)!;

  let producer: Promise<Producer> | null = null;
  let topicReady = false;
  let backoffMs = 0;
  // Aborted by stop(): ends a backoff wait at once.
  const stopping = new AbortController();

  // One connection attempt at a time: the eager one at start and the first send share it.
  function connected(): Promise<Producer> {
    producer ??= connect();
    return producer;
  }

  async function connect(): Promise<Producer> {
    if (!topicReady) {
      const admin: Admin = kafka.admin();
      await admin.connect();
      try {
        // false when it exists already; a topic made by someone else keeps its partitions.
        await admin.createTopics({
          topics: [{ topic: options.topic, numPartitions: options.partitions }],
          waitForLeaders: true,
        });
      } finally {
        await admin.disconnect();
      }
      topicReady = true;
    }
    const next = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await next.connect();
    return next;
  }

  async function send(events: RecordedEvent[]) {
    const target = await connected();
    await target.send({ topic: options.topic, acks: -1, messages: events.map(eventMessage) });
  }

  async function failed(error: unknown) {
    metrics.brokerErrors.inc({ client: 'publisher' });
    setState('broker-unavailable', error);
    log.warn({ err: error, backoffMs }, 'Kafka publish failed; retrying the same batch');
    // A producer whose send failed may be out of sequence with the broker: start a new one
    // (a new producer id) rather than risk an OutOfOrderSequence loop.
    const broken = producer;
    producer = null;
    await broken?.then((p) => p.disconnect()).catch(() => {});
    backoffMs = Math.min(maxBackoffMs, Math.max(100, backoffMs * 2));
    await sleep(backoffMs, undefined, { signal: stopping.signal }).catch(() => {});
  }

  await store.client.query(
    `INSERT INTO aos_checkpoints (name, checkpoint) VALUES ($1, '0:0') ON CONFLICT (name) DO NOTHING`,
    [PUBLISHER_CHECKPOINT],
  );
  let position = (await readCheckpoint(store.client, PUBLISHER_CHECKPOINT)) ?? '0:0';

  // Connect before the first event, so /readyz tells a missing broker even while idle.
  connected().then(
    () => setState('publishing'),
    (error) => {
      producer = null;
      metrics.brokerErrors.inc({ client: 'publisher' });
      setState('broker-unavailable', error);
    },
  );

  const subscription: Subscription = store.subscribe(
    async (events, checkpoint) => {
      try {
        await send(events);
      } catch (error) {
        await failed(error);
        return position; // read the same batch again
      }
      backoffMs = 0;
      metrics.publishedEvents.inc(events.length);
      setState('publishing');
      status.publishedPosition = events.at(-1)!.globalPosition;
      // Compare-and-set: a second publisher on the same store that moved the checkpoint first
      // wins, and this one goes on from there (both sent the batch: a duplicate, not a gap).
      const moved = await store.client.query(
        `UPDATE aos_checkpoints SET checkpoint = $3, updated_at = now() WHERE name = $1 AND checkpoint = $2
         RETURNING checkpoint`,
        [PUBLISHER_CHECKPOINT, position, checkpoint],
      );
      position =
        moved.length > 0
          ? checkpoint
          : ((await readCheckpoint(store.client, PUBLISHER_CHECKPOINT)) ?? checkpoint);
      return position;
    },
    {
      after: position,
      batchSize: options.batchSize,
      pollIntervalMs: options.pollIntervalMs ?? 250,
      onError: (error) => log.warn({ err: error }, 'Kafka publisher could not read the store; retrying'),
    },
  );

  return {
    status: () => ({ ...status }),
    async stop() {
      stopping.abort();
      await subscription.stop();
      await producer?.then((p) => p.disconnect()).catch(() => {});
      setState('stopped');
    },
  };
}
