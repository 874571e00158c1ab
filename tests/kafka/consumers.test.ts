// Read models fed from Kafka by a consumer group: two instances share the partitions, one is
// killed (kill -9, in a process of its own) and the other takes them over, the tables end
// equal to the store-driven ones, and a re-published stream changes nothing.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import { type KafkaProjections, startKafkaProjections } from '../../infra/kafka/projection-consumer.ts';
import { PUBLISHER_CHECKPOINT, startPublisher } from '../../infra/kafka/publisher.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { allProjections } from '../../projections/all.ts';
import { SYSTEM_KEY, startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { until } from '../support/events.ts';
import { kafkaBrokers, kafkaReachable, quietKafka, uniqueTopic } from '../support/kafka.ts';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';

const available = (await postgresReachable()) && (await kafkaReachable());

async function snapshot(sql: Pick<SqlClient, 'query'>) {
  const tables: Record<string, unknown[]> = {};
  for (const projection of allProjections) {
    for (const table of projection.tables) {
      tables[table.name] = await sql.query(
        `SELECT * FROM ${table.name} ORDER BY ${table.keyColumns.join(', ')}`,
      );
    }
  }
  return tables;
}

describe.runIf(available)('Kafka projection consumers', () => {
  const topic = uniqueTopic();
  const groupId = `aos-test-${topic}`;
  let app: TestApp;
  let key: string;
  let readSide: { clients: SqlClient[]; drop: () => Promise<void>; schema: string };

  const consumer = async () => {
    // A client of its own per instance: in effect another process.
    const client = createPostgresClient({
      connectionString: databaseUrl,
      schema: readSide.schema,
      maxConnections: 8,
    });
    readSide.clients.push(client);
    return startKafkaProjections(client, {
      brokers: kafkaBrokers,
      topic,
      groupId,
      projections: allProjections,
      sessionTimeoutMs: 6000,
    });
  };

  async function submitRuns(count: number, tag: string) {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const response = await app.request('POST', '/v1/runs', {
        key,
        body: {
          agentId: `kafka-${tag}`,
          plan: {
            steps: [
              {
                skill: 'llm_invoke',
                input: { model: 'stub', prompt: `${tag}${i}`, stub: { failAttempts: i % 2 } },
                retry: { initialDelayMs: 5 },
              },
            ],
          },
          budget: { maxCostMicros: 100_000 },
        },
      });
      expect(response.status).toBe(202);
      ids.push(response.body.runId);
    }
    for (const runId of ids) await waitForRun(app, key, runId, ['succeeded']);
  }

  /** True when the read side applied every stream up to the store's version of it. */
  async function readSideCaughtUp(sql: Pick<SqlClient, 'query'>) {
    const streams = await app.store.client.query<{ stream_id: string; version: string }>(
      'SELECT stream_id, version::text FROM aos_streams',
    );
    const applied = await sql.query<{ stream_id: string; stream_position: string }>(
      'SELECT stream_id, stream_position::text FROM aos_kafka_applied',
    );
    const byStream = new Map(applied.map((row) => [row.stream_id, row.stream_position]));
    return streams.every((s) => byStream.get(s.stream_id) === s.version);
  }

  beforeAll(async () => {
    app = await startTestApp('postgres', {
      KAFKA_BROKERS: kafkaBrokers,
      AOS_KAFKA_TOPIC: topic,
      AOS_KAFKA_PARTITIONS: '4',
      // Injected requests have no socket for the slow-body guard to close: keep it out of a long test.
      AOS_REQUEST_TIMEOUT_MS: '600000',
    });
    key = await app.keyFor('acme', 'operator');
    const { schema, drop } = await createTestSchema();
    readSide = { clients: [], drop, schema };
    const migrator = createPostgresClient({ connectionString: databaseUrl, schema });
    await migrate(migrator, allMigrations);
    await migrator.close();
  });
  afterAll(async () => {
    await app?.stop();
    await Promise.all(readSide?.clients.map((c) => c.close()) ?? []);
    await readSide?.drop();
  });

  it('splits the partitions between two instances, rebalances when one is killed, and ends equal to the store-driven read models', async () => {
    await submitRuns(4, 'a');
    const first: KafkaProjections = await consumer();
    const second = spawn(
      process.execPath,
      [
        'bin/run-ts.js',
        'tests/support/consumer-child.ts',
        databaseUrl,
        readSide.schema,
        kafkaBrokers,
        topic,
        groupId,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const secondExited = new Promise((resolve) => second.once('exit', resolve));
    try {
      await until(
        'the instances split the partitions (the other instance holds the rest)',
        () => first.assigned().length > 0 && first.assigned().length < 4,
        60_000,
      );
      await submitRuns(4, 'b');
    } finally {
      // Mid-work, with no goodbye to the group: the broker notices only when its session times out.
      second.kill('SIGKILL');
      await secondExited;
    }
    await until('the remaining instance holds every partition', () => first.assigned().length === 4, 60_000);
    await submitRuns(4, 'c');

    const sql = readSide.clients[0]!;
    await until('the Kafka-fed read models caught up', () => readSideCaughtUp(sql));
    const status = await app.request('GET', '/v1/admin/projections', { key: SYSTEM_KEY });
    await until('the store-driven read models caught up', async () =>
      (await app.request('GET', '/v1/admin/projections', { key: SYSTEM_KEY })).body.items.every(
        (s: { behindEvents: number }) => s.behindEvents === 0,
      ),
    );
    expect(status.status).toBe(200);
    const fromKafka = await snapshot(sql);
    expect(fromKafka.rm_runs).toHaveLength(12);
    expect(fromKafka).toEqual(await snapshot(app.store.client));

    // The whole stream published again (as after a publisher crash, at its worst): every
    // message is a duplicate by stream position, and the tables do not change. The
    // republisher is handed the app's publisher lease, so the app's publisher stands by.
    await app.store.client.query(`UPDATE aos_checkpoints SET checkpoint = '0:0' WHERE name = $1`, [
      PUBLISHER_CHECKPOINT,
    ]);
    await app.store.client.query(`UPDATE aos_leases SET holder = 'republisher' WHERE name = $1`, [
      PUBLISHER_CHECKPOINT,
    ]);
    const republisher = await startPublisher(app.store, {
      instance: 'republisher',
      brokers: kafkaBrokers,
      topic,
      partitions: 4,
      batchSize: 100,
      pollIntervalMs: 20,
    });
    const admin = quietKafka(kafkaBrokers).admin();
    await admin.connect();
    const end = async () => (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    const committed = async () =>
      (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions.reduce(
        (n, p) => n + Math.max(0, Number(p.offset)),
        0,
      );
    const before = await end();
    await until('the stream was published twice', async () => (await end()) >= 2 * before);
    await republisher.stop();
    await until('the group consumed the duplicates', async () => (await committed()) === (await end()));
    await admin.disconnect();
    expect(await snapshot(sql)).toEqual(fromKafka);
    await first.stop();
  }, 180_000);
});
