// One publisher by lease: two publisher processes on one store, one active and one standing
// by; the active one killed with kill -9 under load, the standby takes over within a few
// seconds, and the topic holds every event, in order per stream, with duplicates only of the
// batches the dead one sent but never checkpointed. The count is printed for docs/deploy.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { PUBLISHER_CHECKPOINT, startPublisher } from '../../infra/kafka/publisher.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { readCheckpoint } from '../../readmodels/checkpointed-consumer.ts';
import { events, sleep, until } from '../support/events.ts';
import { kafkaBrokers, kafkaReachable, readTopic, uniqueTopic } from '../support/kafka.ts';
import { databaseUrl, postgresReachable } from '../support/postgres.ts';
import { pgliteAdapter, postgresAdapter, type StoreHarness } from '../support/stores.ts';

const available = (await postgresReachable()) && (await kafkaReachable());
const LEASE_MS = 2000;

interface PublisherProcess {
  child: ChildProcess;
  exited: Promise<unknown>;
  /** Resolves when the process runs its publisher (active or standing by). */
  started: Promise<void>;
  /** Resolves when the process reports it took the lease. */
  active: Promise<number>;
}

function publisherProcess(schema: string, topic: string, instance: string): PublisherProcess {
  const child = spawn(
    process.execPath,
    [
      'bin/run-ts.js',
      'tests/support/publisher-child.ts',
      databaseUrl,
      schema,
      kafkaBrokers,
      topic,
      instance,
      String(LEASE_MS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const output = (line: string) =>
    new Promise<number>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes(line)) resolve(Date.now());
      });
    });
  const active = output(`active ${instance}`);
  const started = output('started').then(() => {});
  return { child, exited: new Promise((resolve) => child.once('exit', resolve)), started, active };
}

/** Appends small batches to a few streams from several writers until stopped. */
function steadyWriters(store: SqlEventStore, writers: number) {
  const written: string[] = [];
  let running = true;
  const writer = async (w: number) => {
    for (let i = 0; running; i++) {
      const batch = events(1 + (i % 3));
      await store.append(`takeover-${w}-${i % 4}`, batch, { expectedVersion: 'any' });
      written.push(...batch.map((e) => e.eventId));
      await sleep(2);
    }
  };
  const all = Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  return {
    written,
    async stop() {
      running = false;
      await all;
      return written;
    },
  };
}

describe.runIf(available)('Kafka publisher lease', () => {
  let harness: StoreHarness<SqlEventStore>;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    harness = await postgresAdapter.open();
    await migrate(harness.store.client, allMigrations);
  });
  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL');
    await harness.cleanup();
  });

  it('kill -9 of the active publisher under load: the standby takes over, every event on the topic in stream order', async () => {
    const { store } = harness;
    const topic = uniqueTopic();
    const schema = (await store.client.query<{ s: string }>('SELECT current_schema() AS s'))[0]!.s;
    const first = publisherProcess(schema, topic, 'first');
    children.push(first.child);
    await first.active;
    const second = publisherProcess(schema, topic, 'second');
    children.push(second.child);
    await second.started;
    const writers = steadyWriters(store, 4);

    // Under load, with the checkpoint moving: kill the active one.
    await until(
      'the first publisher published some',
      async () =>
        Number(((await readCheckpoint(store.client, PUBLISHER_CHECKPOINT)) ?? '0:0').split(':')[1]) > 60,
    );
    const [lease] = await store.client.query<{ holder: string }>('SELECT holder FROM aos_leases');
    expect(lease!.holder).toBe('first');
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;
    const takenOverAt = await second.active;
    await sleep(500);
    const written = await writers.stop();

    await until('the second publisher caught up', async () => {
      const [head] = await store.client.query<{ p: string }>(
        'SELECT max(global_position)::text AS p FROM aos_events',
      );
      return (await readCheckpoint(store.client, PUBLISHER_CHECKPOINT))?.split(':')[1] === head!.p;
    });
    const messages = await readTopic(kafkaBrokers, topic, written.length, 20_000);
    const heads = await store.client.query<{ stream_id: string; n: number }>(
      'SELECT stream_id, count(*)::int AS n FROM aos_events GROUP BY stream_id',
    );

    // Every event, and per stream in stream order once duplicates are dropped by stream position.
    expect(new Set(messages.map((m) => m.eventId))).toEqual(new Set(written));
    const applied = new Map<string, number>();
    const perStream = new Map<string, number[]>();
    let duplicates = 0;
    for (const m of messages) {
      if (m.streamPosition <= (applied.get(m.streamId) ?? -1)) {
        duplicates++;
        continue;
      }
      applied.set(m.streamId, m.streamPosition);
      perStream.set(m.streamId, [...(perStream.get(m.streamId) ?? []), m.streamPosition]);
    }
    expect(perStream.size).toBe(heads.length);
    for (const { stream_id, n } of heads) {
      expect(perStream.get(stream_id)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    const takeoverMs = takenOverAt - killedAt;
    console.log(
      `publisher takeover: ${takeoverMs} ms after kill -9 (lease ${LEASE_MS} ms); ${written.length} events, ${messages.length} messages, ${duplicates} duplicates`,
    );
    expect(messages.length - written.length).toBe(duplicates);
    // Only what the dead publisher sent but did not checkpoint is sent again: the batch in
    // flight and the one whose checkpoint move was under way (batch size 20).
    expect(duplicates).toBeLessThanOrEqual(40);
    // Within a few seconds: the lease time, plus a renewal period and a start-up under load.
    expect(takeoverMs).toBeLessThan(LEASE_MS + 3000);
  }, 90_000);

  it('in one process: one active, one standby, and the standby takes over at once when the active one stops', async () => {
    const { store } = harness;
    const topic = uniqueTopic();
    const options = {
      brokers: kafkaBrokers,
      topic,
      partitions: 2,
      batchSize: 50,
      pollIntervalMs: 10,
      leaseMs: LEASE_MS,
    };
    const a = await startPublisher(store, { ...options, instance: `a-${randomUUID()}` });
    await until('a is active', () => a.status().role === 'active');
    const b = await startPublisher(store, { ...options, instance: `b-${randomUUID()}` });
    await sleep(LEASE_MS / 2);
    expect(b.status()).toMatchObject({ role: 'standby', state: 'standby' });
    await store.append('lease-stream', events(5), { expectedVersion: 'no_stream' });
    await a.stop();
    expect(a.status()).toMatchObject({ role: 'standby', state: 'stopped' });
    await until('b is active and publishing', () => b.status().state === 'publishing', LEASE_MS);
    await store.append('lease-stream', events(5), { expectedVersion: 4 });
    await until('b published all ten', () => b.status().publishedPosition === '10');
    await b.stop();
    const messages = await readTopic(kafkaBrokers, topic, 10, 10_000);
    expect(messages.map((m: RecordedEvent) => m.streamPosition)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }, 60_000);
});

describe.runIf(await kafkaReachable())('Kafka publisher lease on PGlite', () => {
  it('is held by the one process and publishes', async () => {
    const harness = await pgliteAdapter.open();
    try {
      await migrate(harness.store.client, allMigrations);
      const topic = uniqueTopic();
      const publisher = await startPublisher(harness.store, {
        brokers: kafkaBrokers,
        topic,
        partitions: 1,
        batchSize: 50,
        pollIntervalMs: 10,
      });
      await harness.store.append('pglite-stream', events(3), { expectedVersion: 'no_stream' });
      await until('published', () => publisher.status().publishedPosition === '3');
      expect(publisher.status().role).toBe('active');
      await publisher.stop();
      expect(await readTopic(kafkaBrokers, topic, 3, 10_000)).toHaveLength(3);
    } finally {
      await harness.cleanup();
    }
  }, 60_000);
});
