// Read models fed from the Kafka topic by a consumer group: the same projections/ code the
// store-driven runner folds, applied per partition batch in one read-model transaction, and
// the partition's offset committed only after that transaction committed. Several instances
// with the same group id share the partitions; one that leaves hands its partitions over.
//
// Exactly-once effect over an at-least-once topic: a message whose stream position is not past
// the last one applied for its stream (aos_kafka_applied, in the same transaction) is a
// duplicate and is skipped. A crash between the commit and the offset commit re-reads those
// messages, and they are skipped the same way. A projection whose version changed is rebuilt
// beside its tables from the store (kafka-rebuild.ts); until it is swapped in, it is not folded.
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import type { SqlClient, SqlExecutor } from '../../domain/store/sql-port.ts';
import type { AnyProjection } from '../../projections/projection.ts';
import { projectBatches } from '../../readmodels/project-batch.ts';
import type { PrometheusMetrics } from '../metrics/prometheus.ts';
import { createKafka, eventOf, type KafkaLog, silentLog } from './kafka-client.ts';
import { kafkaMetrics } from './kafka-metrics.ts';
import { currentProjections } from './kafka-rebuild.ts';

export interface KafkaProjectionOptions {
  brokers: string;
  topic: string;
  groupId: string;
  projections: readonly AnyProjection[];
  /** Messages per read-model transaction. */
  batchSize?: number;
  log?: KafkaLog;
  metrics?: PrometheusMetrics;
  /** How soon the group gives up on an instance that stopped without leaving. */
  sessionTimeoutMs?: number;
  /** Called with the events of each committed read-model transaction (end-to-end lag). */
  onApplied?: (events: readonly RecordedEvent[]) => void;
}

export interface KafkaProjections {
  /** Partitions this instance holds now. */
  assigned(): number[];
  stop(): Promise<void>;
}

/** The events of `events` not applied yet, locking their streams' rows for the transaction. */
export async function unappliedEvents(tx: SqlExecutor, events: readonly RecordedEvent[]) {
  const streams = [...new Set(events.map((e) => e.streamId))].sort();
  // Insert-then-lock: a stream seen for the first time gets a row (-1) that a second
  // instance applying the same stream during a rebalance must wait for.
  await tx.query(
    `INSERT INTO aos_kafka_applied (stream_id, stream_position)
     SELECT s, -1 FROM unnest($1::text[]) AS s ORDER BY s ON CONFLICT (stream_id) DO NOTHING`,
    [streams],
  );
  const rows = await tx.query<{ stream_id: string; stream_position: string | number }>(
    'SELECT stream_id, stream_position FROM aos_kafka_applied WHERE stream_id = ANY($1::text[]) ORDER BY stream_id FOR UPDATE',
    [streams],
  );
  const applied = new Map(rows.map((row) => [row.stream_id, Number(row.stream_position)]));
  const seen = new Set<string>();
  const fresh: RecordedEvent[] = [];
  for (const event of events) {
    if (seen.has(event.eventId) || event.streamPosition <= applied.get(event.streamId)!) continue;
    seen.add(event.eventId);
    applied.set(event.streamId, event.streamPosition);
    fresh.push(event);
  }
  const last = new Map(fresh.map((e) => [e.streamId, e]));
  if (last.size > 0) {
    await tx.query(
      `UPDATE aos_kafka_applied a SET stream_position = s.stream_position, event_id = s.event_id,
              global_position = s.global_position, applied_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS s(stream_id text, stream_position bigint, event_id uuid, global_position bigint)
        WHERE a.stream_id = s.stream_id`,
      [
        JSON.stringify(
          [...last.values()].map((e) => ({
            stream_id: e.streamId,
            stream_position: e.streamPosition,
            event_id: e.eventId,
            global_position: e.globalPosition,
          })),
        ),
      ],
    );
  }
  return fresh;
}

export async function startKafkaProjections(
  client: SqlClient,
  options: KafkaProjectionOptions,
): Promise<KafkaProjections> {
  const log = options.log ?? silentLog;
  const metrics = kafkaMetrics(options.metrics?.registry);
  const kafka = createKafka({ brokers: options.brokers, clientId: 'aos-projections', log });
  const chunk = options.batchSize ?? 500;
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: 1000,
    allowAutoTopicCreation: false,
  });
  let assigned: number[] = [];
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    assigned = [...(payload.memberAssignment[options.topic] ?? [])].sort((a, b) => a - b);
    log.info(
      { groupId: options.groupId, partitions: assigned },
      'Kafka projection consumer joined its group',
    );
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    metrics.brokerErrors.inc({ client: 'consumer' });
    log.warn({ err: payload.error, restart: payload.restart }, 'Kafka projection consumer crashed');
  });
  consumer.on(consumer.events.REQUEST_TIMEOUT, () => metrics.brokerErrors.inc({ client: 'consumer' }));

  async function applyMessages(payload: EachBatchPayload) {
    const { batch } = payload;
    for (let from = 0; from < batch.messages.length; from += chunk) {
      if (!payload.isRunning() || payload.isStale()) return;
      const messages = batch.messages.slice(from, from + chunk);
      const events = messages.map((m) => eventOf(m, `${batch.topic}[${batch.partition}]@${m.offset}`));
      const fresh = await client.transaction(async (tx) => {
        const unapplied = await unappliedEvents(tx, events);
        // Read after the locks above: a rebuild swapping a projection in waits for them, or
        // this waits for it, so the version read here is the one the tables now have.
        const current = await currentProjections(tx, options.projections);
        await projectBatches(
          tx,
          current.map((projection) => ({ projection, events: unapplied })),
          { lockKeys: true },
        );
        return unapplied;
      });
      options.onApplied?.(fresh);
      metrics.consumedEvents.inc({ outcome: 'applied' }, fresh.length);
      metrics.consumedEvents.inc({ outcome: 'duplicate' }, events.length - fresh.length);
      const last = messages.at(-1)!.offset;
      // Only now, after the read models committed: a crash before this line re-reads the
      // chunk, and the stream positions above skip it.
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
      ]);
      payload.resolveOffset(last);
      await payload.heartbeat();
    }
    metrics.consumerLag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Number(batch.offsetLag()),
    );
  }

  // A projection never recorded here starts current (read models built from the topic alone,
  // in a database of their own, have no rebuilds); a recorded other version waits for its build.
  await client.query(
    `INSERT INTO aos_projections (name, version)
     SELECT * FROM unnest($1::text[], $2::int[]) ON CONFLICT (name) DO NOTHING`,
    [options.projections.map((p) => p.name), options.projections.map((p) => p.version)],
  );
  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Partitions are independent (a stream lives on one): fold them side by side.
    partitionsConsumedConcurrently: 4,
    eachBatch: applyMessages,
  });
  return {
    assigned: () => [...assigned],
    async stop() {
      // disconnect() leaves the group: the others rebalance at once, without a session timeout.
      await consumer.disconnect();
    },
  };
}
