// The outbox relay against a real broker: per-stream order across partitions, nothing
// skipped under concurrent writers, and a kill -9 mid-batch that loses nothing.
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { PUBLISHER_CHECKPOINT, startPublisher } from '../../infra/kafka/publisher.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { readCheckpoint } from '../../readmodels/checkpointed-consumer.ts';
import { countEvents } from '../support/count-events.ts';
import { sleep } from '../support/events.ts';
import { kafkaBrokers, kafkaReachable, readTopic, uniqueTopic } from '../support/kafka.ts';
import { databaseUrl, postgresReachable } from '../support/postgres.ts';
import { postgresAdapter, type StoreHarness } from '../support/stores.ts';
import { concurrentDelayedWriters } from '../support/test-projection.ts';

const available = (await postgresReachable()) && (await kafkaReachable());

/** Store events in global order, with their stream positions. */
async function storeEvents(store: SqlEventStore): Promise<RecordedEvent[]> {
  return (await store.readAll({ limit: 10_000 })).events;
}

async function waitCaughtUp(store: SqlEventStore, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [head] = await store.client.query<{ p: string | null }>(
      'SELECT max(global_position)::text AS p FROM aos_events',
    );
    const checkpoint = (await readCheckpoint(store.client, PUBLISHER_CHECKPOINT)) ?? '0:0';
    if (checkpoint.split(':')[1] === (head?.p ?? '0')) return;
    if (Date.now() > deadline) throw new Error(`publisher stuck at ${checkpoint}, head ${head?.p}`);
    await sleep(50);
  }
}

/** Each stream's positions in topic order, after dropping re-sent duplicates by event id. */
function perStream(messages: RecordedEvent[]) {
  const seen = new Set<string>();
  const streams = new Map<string, number[]>();
  for (const m of messages) {
    if (seen.has(m.eventId)) continue;
    seen.add(m.eventId);
    streams.set(m.streamId, [...(streams.get(m.streamId) ?? []), m.streamPosition]);
  }
  return { streams, distinct: seen };
}

describe.runIf(available)('Kafka publisher', () => {
  let harness: StoreHarness<SqlEventStore>;
  beforeEach(async () => {
    harness = await postgresAdapter.open();
    await migrate(harness.store.client, allMigrations);
  });
  afterEach(() => harness.cleanup());

  it('publishes every event once, in per-stream order across partitions, under concurrent writers', async () => {
    const { store } = harness;
    const topic = uniqueTopic();
    const publisher = await startPublisher(store, {
      brokers: kafkaBrokers,
      topic,
      partitions: 4,
      batchSize: 37,
      pollIntervalMs: 10,
    });
    const written = await concurrentDelayedWriters(store, {
      writers: 6,
      appendsPerWriter: 20,
      maxDelayMs: 3,
    });
    await waitCaughtUp(store);
    expect(publisher.status().state).toBe('publishing');
    await publisher.stop();

    const messages = await readTopic(kafkaBrokers, topic, written.length);
    expect(messages).toHaveLength(written.length);
    expect(new Set(messages.map((m) => m.eventId))).toEqual(new Set(written));
    const { streams } = perStream(messages);
    const recorded = await storeEvents(store);
    for (const [streamId, positions] of streams) {
      const expected = recorded.filter((e) => e.streamId === streamId).map((e) => e.streamPosition);
      expect(positions).toEqual(expected);
      // One stream, one partition.
      expect(new Set(messages.filter((m) => m.streamId === streamId).map((m) => m.partition)).size).toBe(1);
    }
    expect(new Set(messages.map((m) => m.partition)).size).toBeGreaterThan(1);
  }, 60_000);

  it('resumes after kill -9 mid-batch: every event on the topic, duplicates only of the batches not checkpointed', async () => {
    const { store } = harness;
    const topic = uniqueTopic();
    const schema = (await store.client.query<{ s: string }>('SELECT current_schema() AS s'))[0]!.s;
    const child = spawn(
      process.execPath,
      ['bin/run-ts.js', 'tests/support/publisher-child.ts', databaseUrl, schema, kafkaBrokers, topic],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const writing = concurrentDelayedWriters(store, { writers: 4, appendsPerWriter: 40, maxDelayMs: 2 });
    // Kill it while it is publishing: once its checkpoint has moved and writers still write.
    for (let i = 0; i < 600; i++) {
      const checkpoint = (await readCheckpoint(store.client, PUBLISHER_CHECKPOINT)) ?? '0:0';
      if (Number(checkpoint.split(':')[1]) > 40) break;
      await sleep(20);
    }
    child.kill('SIGKILL');
    await exited;
    const written = await writing;
    const publishedBeforeRestart = Number(
      ((await readCheckpoint(store.client, PUBLISHER_CHECKPOINT)) ?? '0:0').split(':')[1],
    );
    expect(publishedBeforeRestart).toBeGreaterThan(0);
    expect(publishedBeforeRestart).toBeLessThan(written.length);

    const publisher = await startPublisher(store, {
      brokers: kafkaBrokers,
      topic,
      partitions: 4,
      batchSize: 20,
      pollIntervalMs: 10,
    });
    await waitCaughtUp(store);
    await publisher.stop();
    expect(await countEvents(store)).toBe(written.length);

    const messages = await readTopic(kafkaBrokers, topic, written.length, 10_000);
    const { streams, distinct } = perStream(messages);
    expect(distinct).toEqual(new Set(written));
    // At-least-once: a re-sent event is one the killed process sent but never checkpointed:
    // the batch in flight and the one whose checkpoint move was under way, at most 2 × 20.
    expect(messages.length - written.length).toBeLessThanOrEqual(40);
    const recorded = await storeEvents(store);
    for (const [streamId, positions] of streams) {
      expect(positions).toEqual(recorded.filter((e) => e.streamId === streamId).map((e) => e.streamPosition));
    }
  }, 90_000);
});
