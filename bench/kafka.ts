// Kafka: the publisher (store → topic, checkpointed, idempotent producer) beside a raw kafkajs
// producer sending the same messages to the same broker in the same run, target >= 0.8x; and
// end-to-end lag, append to applied by the projection consumer group, at a steady 1,000
// events/s. Needs the broker at KAFKA_BROKERS (infra/kafka/broker.sh start) and PostgreSQL.

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Partitioners } from 'kafkajs';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import { createKafka, eventMessage, silentLog } from '../infra/kafka/kafka-client.ts';
import { startKafkaProjections } from '../infra/kafka/projection-consumer.ts';
import { PUBLISHER_CHECKPOINT, startPublisher } from '../infra/kafka/publisher.ts';
import { allMigrations } from '../infra/migrations.ts';
import { migrate } from '../infra/store/migrate.ts';
import { createPostgresClient } from '../infra/store/postgres-client.ts';
import { createSqlEventStore, type SqlEventStore } from '../infra/store/sql-event-store.ts';
import { allProjections } from '../projections/all.ts';
import { readCheckpoint } from '../readmodels/checkpointed-consumer.ts';
import type { Suite, SuiteContext } from './suites.ts';
import { paired } from './support/measure.ts';
import { benchDatabaseUrl, benchSchema, ensureDatabase, execOn } from './support/postgres.ts';
import { figure } from './support/report.ts';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const SIZES = {
  quick: { events: 20_000, repetitions: 3, lagSeconds: 5 },
  full: { events: 100_000, repetitions: 5, lagSeconds: 15 },
};
const BATCH = 500;
const STREAMS = 200;
const PARTITIONS = 8;

async function fill(store: SqlEventStore, events: number) {
  for (let done = 0; done < events; done += BATCH) {
    const stream = `bench-${(done / BATCH) % STREAMS}`;
    await store.append(
      stream,
      Array.from({ length: Math.min(BATCH, events - done) }, (_, n) => ({
        eventId: randomUUID(),
        type: 'BenchEvent',
        schemaVersion: 1,
        data: { n: done + n, text: 'x'.repeat(200) },
        metadata: { tenantId: 'bench', actor: 'bench' },
      })),
      { expectedVersion: 'any' },
    );
  }
}

async function until(done: () => Promise<boolean>) {
  while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 5));
}

function percentile(values: number[], p: number) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const suite: Suite = {
  description: 'Kafka publisher throughput vs a raw kafkajs producer; end-to-end lag at 1,000 events/s',
  async run({ quick, log }: SuiteContext) {
    const size = quick ? SIZES.quick : SIZES.full;
    const url = await ensureDatabase(benchDatabaseUrl);
    const schema = benchSchema('kafka');
    await execOn(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    const client = createPostgresClient({ connectionString: url, schema, maxConnections: 8 });
    const kafka = createKafka({ brokers, clientId: 'aos-bench', log: silentLog });
    const admin = kafka.admin();
    await admin.connect();
    const topics: string[] = [];
    const newTopic = async () => {
      const topic = `aos.bench.${randomUUID().slice(0, 8)}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
      topics.push(topic);
      return topic;
    };
    try {
      await migrate(client, allMigrations);
      const store = createSqlEventStore(client);
      log(`  appending ${size.events.toLocaleString('en-US')} events in ${STREAMS} streams…`);
      await fill(store, size.events);
      const recorded: RecordedEvent[] = [];
      let tail: string | undefined;
      for (;;) {
        const page = await store.readAll({ limit: 10_000, ...(tail ? { after: tail } : {}) });
        recorded.push(...page.events);
        tail = page.checkpoint;
        if (page.events.length < 10_000) break;
      }
      const head = recorded.at(-1)!.globalPosition;

      const raw = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await raw.connect();
      let topic = '';
      const result = await paired(
        [
          {
            label: 'publisher',
            prepare: async () => {
              topic = await newTopic();
              await client.query(`DELETE FROM aos_checkpoints WHERE name = $1`, [PUBLISHER_CHECKPOINT]);
            },
            run: async () => {
              const publisher = await startPublisher(store, {
                brokers,
                topic,
                partitions: PARTITIONS,
                batchSize: BATCH,
                pollIntervalMs: 5,
              });
              await until(
                async () =>
                  (await readCheckpoint(client, PUBLISHER_CHECKPOINT))?.endsWith(`:${head}`) ?? false,
              );
              await publisher.stop();
              return recorded.length;
            },
          },
          {
            label: 'raw',
            prepare: async () => {
              topic = await newTopic();
            },
            // The same messages (already read and encoded), the same batches, acks = all.
            run: async () => {
              for (let i = 0; i < recorded.length; i += BATCH) {
                const messages = recorded.slice(i, i + BATCH).map(eventMessage);
                await raw.send({ topic, acks: -1, messages });
              }
              return recorded.length;
            },
          },
        ],
        { repetitions: size.repetitions, log },
      );
      await raw.disconnect();

      log(`  end-to-end lag at 1,000 events/s for ${size.lagSeconds} s…`);
      const lagTopic = await newTopic();
      const readSchema = benchSchema('kafka_read');
      await execOn(url, `DROP SCHEMA IF EXISTS ${readSchema} CASCADE; CREATE SCHEMA ${readSchema}`);
      const readClient = createPostgresClient({
        connectionString: url,
        schema: readSchema,
        maxConnections: 8,
      });
      await migrate(readClient, allMigrations);
      await client.query(`DELETE FROM aos_checkpoints WHERE name = $1`, [PUBLISHER_CHECKPOINT]);
      // Start past the filled events: only the paced ones are measured.
      await client.query(`INSERT INTO aos_checkpoints (name, checkpoint) VALUES ($1, $2)`, [
        PUBLISHER_CHECKPOINT,
        tail,
      ]);
      const lags: number[] = [];
      const paced = new Set<string>();
      const consumer = await startKafkaProjections(readClient, {
        brokers,
        topic: lagTopic,
        groupId: `bench-${lagTopic}`,
        projections: allProjections,
        onApplied: (events) => {
          const now = Date.now();
          for (const e of events) if (paced.has(e.eventId)) lags.push(now - Date.parse(e.recordedAt));
        },
      });
      const publisher = await startPublisher(store, {
        brokers,
        topic: lagTopic,
        partitions: PARTITIONS,
        batchSize: BATCH,
        pollIntervalMs: 250,
      });
      // One append of 10 events every 10 ms (a stream per append, round robin), launched on
      // schedule whether or not the previous ones returned: an open-loop load. The store's
      // NOTIFY wakes the relay.
      const total = size.lagSeconds * 1000;
      const inFlight: Promise<unknown>[] = [];
      const start = performance.now();
      for (let sent = 0; sent < total; sent += 10) {
        const wait = start + sent - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const batch = Array.from({ length: 10 }, (_, n) => {
          const eventId = randomUUID();
          paced.add(eventId);
          return {
            eventId,
            type: 'BenchEvent',
            schemaVersion: 1,
            data: { n },
            metadata: { tenantId: 'bench' },
          };
        });
        inFlight.push(store.append(`lag-${(sent / 10) % STREAMS}`, batch, { expectedVersion: 'any' }));
      }
      await Promise.all(inFlight);
      const achieved = total / ((performance.now() - start) / 1000);
      const deadline = Date.now() + 30_000;
      while (lags.length < total && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      await publisher.stop();
      await consumer.stop();
      await readClient.close();
      await execOn(url, `DROP SCHEMA IF EXISTS ${readSchema} CASCADE`);
      log(`  paced at ${Math.round(achieved)} events/s; ${lags.length}/${total} applied`);

      const ratios = result.ratioTo('raw');
      const lagFigure = (p: number) =>
        figure({
          name: `end-to-end lag p${p} (append → applied by the consumer group), ${Math.round(achieved)} events/s`,
          unit: 'ms',
          value: lags.length ? percentile(lags, p) : null,
          anchor: 'none (a latency, no target)',
          anchor_value: null,
          ratios: null,
          target: 0,
        });
      return [
        figure({
          name: `publish ${recorded.length.toLocaleString('en-US')} events (${STREAMS} streams, ${PARTITIONS} partitions, batches of ${BATCH})`,
          unit: 'events/s',
          value: result.median.publisher!,
          anchor: 'raw kafkajs idempotent producer, same messages and batches, acks=all',
          anchor_value: result.median.raw!,
          ratios,
          target: 0.8,
        }),
        lagFigure(50),
        lagFigure(99),
      ];
    } finally {
      await admin.deleteTopics({ topics }).catch(() => {});
      await admin.disconnect();
      await client.close();
      await execOn(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  },
};
