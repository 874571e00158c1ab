// The outbox relay: reads the store gap-free from its own checkpoint and publishes each event
// to the topic, keyed by stream id so a stream keeps its order on one partition. The checkpoint
// moves only after the broker acknowledged the batch (acks = all, idempotent producer), and
// that move runs while the next batch is sent (trailing-checkpoint.ts), so a crash re-sends at
// most those two batches: at-least-once, and each message carries the event id and stream
// position a consumer deduplicates by.
//
// The send happens outside any database transaction on purpose: a transaction held open
// through a broker outage would hold back the xmin horizon, and with it every gap-free reader
// of the store (projections, the run-queue feeder).
//
// One publisher per store: every instance starts one, and they elect the active one with a
// lease (infra/store/lease.ts, named like the checkpoint). The others stand by, renewing
// nothing, and the first to find the lease expired takes over from the shared checkpoint.
// The active one checks the lease before each send and fences its checkpoint move with it,
// so a holder that lost the lease (paused, cut off from the database) stops at once and
// never moves the checkpoint of its successor.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Admin, type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import type { Checkpoint, Subscription } from '../../domain/store/event-store.ts';
import { readCheckpoint } from '../../readmodels/checkpointed-consumer.ts';
import { checkpointLags } from '../../readmodels/projection-status.ts';
import type { PrometheusMetrics } from '../metrics/prometheus.ts';
import { type Lease, startLease } from '../store/lease.ts';
import type { SqlEventStore } from '../store/sql-event-store.ts';
import { createKafka, eventMessage, type KafkaLog, silentLog } from './kafka-client.ts';
import { kafkaMetrics } from './kafka-metrics.ts';
import { type TrailingCheckpoint, trailingCheckpoint } from './trailing-checkpoint.ts';

export const PUBLISHER_CHECKPOINT = 'kafka-publisher';
/** Pages read ahead of the batch being sent: the store keeps 8 (shared-reads.ts). */
const READ_AHEAD_PAGES = 2;

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
  /** The publisher lease's time to live: how soon a standby takes over from a dead publisher. */
  leaseMs?: number;
  /** This instance's name in the lease (unique per process by default). */
  instance?: string;
}

export interface PublisherStatus {
  /** `active` holds the lease and publishes; `standby` waits to take over. */
  role: 'active' | 'standby';
  /** This instance's name in the lease. */
  instance: string;
  state: 'standby' | 'connecting' | 'publishing' | 'broker-unavailable' | 'stopped';
  /** Global position of the last acknowledged event, or null before the first. */
  publishedPosition: string | null;
  lastError: string | null;
  /** ISO time of the last state change. */
  since: string;
}

/** A running relay: its subscription to the store and its checkpoint, whose last move may be under way. */
interface Relay {
  subscription: Subscription;
  checkpoint: TrailingCheckpoint;
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
  const status: Omit<PublisherStatus, 'role' | 'instance'> = {
    state: 'standby',
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
  options.metrics?.scrapeGauge(
    'aos_kafka_publisher_active',
    'Whether this instance holds the publisher lease and publishes (1) or stands by (0)',
    ['instance'],
    async () => [{ labels: { instance: lease.holder }, value: lease.held() ? 1 : 0 }],
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

  async function ensureTopic() {
    if (topicReady) return;
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

  // The producer connects while the topic is made sure of: the first send waits for one, not both.
  async function connect(): Promise<Producer> {
    const next = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const [topic, connection] = await Promise.allSettled([ensureTopic(), next.connect()]);
    if (topic.status === 'rejected' || connection.status === 'rejected') {
      await next.disconnect().catch(() => {});
      throw topic.status === 'rejected' ? topic.reason : (connection as PromiseRejectedResult).reason;
    }
    return next;
  }

  async function disconnect() {
    const open = producer;
    producer = null;
    await open?.then((p) => p.disconnect()).catch(() => {});
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
    await disconnect();
    backoffMs = Math.min(maxBackoffMs, Math.max(100, backoffMs * 2));
    await sleep(backoffMs, undefined, { signal: stopping.signal }).catch(() => {});
  }

  await store.client.query(
    `INSERT INTO aos_checkpoints (name, checkpoint) VALUES ($1, '0:0') ON CONFLICT (name) DO NOTHING`,
    [PUBLISHER_CHECKPOINT],
  );

  /**
   * Reads the `pages` pages after `after` while batches are sent, each as soon as the one before
   * it came back full: the store read, as long as a send, is then no longer started only when
   * the batch before it is handed over. The store keeps full pages and reads in flight for the
   * subscription's reads (shared-reads.ts), so a page read ahead already is not read again.
   */
  function readAhead(after: Checkpoint, pages: number) {
    if (pages === 0) return;
    store.readAll({ after, limit: options.batchSize }).then(
      (page) => {
        if (page.events.length === options.batchSize) readAhead(page.checkpoint, pages - 1);
      },
      () => {},
    );
  }

  /** Publishes from the shared checkpoint until stopped: run while this instance holds the lease. */
  async function relay(): Promise<Relay> {
    let position = (await readCheckpoint(store.client, PUBLISHER_CHECKPOINT)) ?? '0:0';
    const checkpoint = trailingCheckpoint(store.client, PUBLISHER_CHECKPOINT, lease.holder, position);
    setState('connecting');
    // Connect before the first event, so /readyz tells a missing broker even while idle.
    connected().then(
      () => setState('publishing'),
      (error) => {
        producer = null;
        metrics.brokerErrors.inc({ client: 'publisher' });
        setState('broker-unavailable', error);
      },
    );
    const subscription = store.subscribe(
      async (events, end) => {
        // Lost the lease since the last batch: send nothing; the lease's handler stops this.
        if (!lease.held()) return position;
        // A full batch: the next one is surely there.
        if (events.length === options.batchSize) readAhead(end, READ_AHEAD_PAGES);
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
        // The previous batch's checkpoint move ran during this send. Refused (the lease lost, a
        // successor moved on), this publisher reads on from the shared checkpoint instead: both
        // sent these batches, duplicates, not a gap. Failed, it throws, and this batch is read
        // and sent again.
        position = await checkpoint.advance(end);
        return position;
      },
      {
        after: position,
        batchSize: options.batchSize,
        // Woken by appends; the store's shared head watch looks this often for a lost wake-up.
        pollIntervalMs: options.pollIntervalMs ?? 5_000,
        onError: (error) => log.warn({ err: error }, 'Kafka publisher could not read the store; retrying'),
      },
    );
    return { subscription, checkpoint };
  }

  let running: Relay | null = null;
  const lease: Lease = startLease(store.client, {
    name: PUBLISHER_CHECKPOINT,
    ...(options.instance ? { holder: options.instance } : {}),
    ...(options.leaseMs ? { ttlMs: options.leaseMs } : {}),
    onError: (error) => log.warn({ err: error }, 'Kafka publisher could not renew its lease'),
    async onChange(held) {
      if (held) {
        log.info({ instance: lease.holder }, 'Kafka publisher lease taken: this instance publishes');
        running = await relay();
        return;
      }
      log.warn({ instance: lease.holder }, 'Kafka publisher lease lost: this instance stands by');
      await running?.subscription.stop();
      // Before a clean stop gives up the lease: the last acknowledged batch is not sent again.
      await running?.checkpoint
        .settle()
        .catch((error) => log.warn({ err: error }, 'Kafka publisher could not move its checkpoint'));
      running = null;
      await disconnect();
      if (!stopping.signal.aborted) setState('standby');
    },
  });

  return {
    status: () => ({
      role: lease.held() ? 'active' : 'standby',
      instance: lease.holder,
      ...status,
    }),
    async stop() {
      stopping.abort();
      await lease.release();
      setState('stopped');
    },
  };
}
