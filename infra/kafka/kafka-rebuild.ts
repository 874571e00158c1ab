// Rebuilding a projection whose read models the Kafka consumer group feeds. The build runs
// beside the live tables from the store, as in store mode (readmodels/rebuild-beside.ts), but
// what it folds must end up exactly what the consumers have applied (aos_kafka_applied: per
// stream, the last position folded into the live tables), since after the swap the consumers
// go on folding into the new tables from those positions:
//
// - while building, it folds the longest prefix of the store's order whose events the
//   consumers have applied, and stops there (the consumers are usually a moment behind);
// - to swap, it pauses the consumers (a SHARE ROW EXCLUSIVE lock on aos_kafka_applied, which
//   their transactions need for writing it), folds the events past its checkpoint that they
//   have applied meanwhile (in store order, so each stream's stay in order), and swaps in.
//
// The consumers fold a projection only while its recorded version is the code's
// (`currentProjections`), so a projection waiting for its rebuild is left alone, and they read
// that inside their transaction after taking their locks: none folds the old way past the swap.
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import type { SqlExecutor, SqlStore } from '../../domain/store/sql-port.ts';
import type { AnyProjection } from '../../projections/projection.ts';
import { checkpointName, projectBatch } from '../../readmodels/project-batch.ts';
import {
  type ShadowSource,
  shadowCheckpoint,
  shadowTarget,
  swapIn,
} from '../../readmodels/rebuild-beside.ts';

const CATCH_UP_BATCH = 2000;

/** Per stream of `events`, the last position the consumers applied (-1: none). */
async function appliedPositions(tx: SqlExecutor, events: readonly RecordedEvent[]) {
  const streams = [...new Set(events.map((e) => e.streamId))];
  const rows = await tx.query<{ stream_id: string; stream_position: string | number }>(
    'SELECT stream_id, stream_position FROM aos_kafka_applied WHERE stream_id = ANY($1::text[])',
    [streams],
  );
  const applied = new Map(rows.map((row) => [row.stream_id, Number(row.stream_position)]));
  return (event: RecordedEvent) => event.streamPosition <= (applied.get(event.streamId) ?? -1);
}

/** The store checkpoint just after `event` (its transaction id and global position). */
async function checkpointAt(tx: SqlExecutor, event: RecordedEvent): Promise<string> {
  const [row] = await tx.query<{ checkpoint: string }>(
    `SELECT transaction_id::text || ':' || global_position AS checkpoint FROM aos_events WHERE global_position = $1`,
    [event.globalPosition],
  );
  return row!.checkpoint;
}

async function trySwapAtAppliedPositions(store: SqlStore, projection: AnyProjection): Promise<boolean> {
  return store.client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [checkpointName(projection)]);
    // The consumers' transactions wait from here to the commit.
    await tx.query('LOCK TABLE aos_kafka_applied IN SHARE ROW EXCLUSIVE MODE');
    const [row] = await tx.query<{ checkpoint: string }>(
      'SELECT checkpoint FROM aos_checkpoints WHERE name = $1 FOR UPDATE',
      [shadowCheckpoint(projection)],
    );
    if (!row) return true;
    const target = shadowTarget(projection);
    let after = row.checkpoint;
    for (;;) {
      const { events, checkpoint } = await store.readAll({ after, limit: CATCH_UP_BATCH });
      if (events.length === 0) break;
      const applied = await appliedPositions(tx, events);
      await projectBatch(tx, projection, events.filter(applied), { target });
      after = checkpoint;
    }
    await swapIn(tx, projection);
    return true;
  });
}

export const appliedByConsumers: ShadowSource = {
  async foldable(tx, events, checkpoint) {
    const applied = await appliedPositions(tx, events);
    const prefix = events.findIndex((event) => !applied(event));
    if (prefix === -1) return { events, checkpoint };
    if (prefix === 0) return { events: [], checkpoint };
    return { events: events.slice(0, prefix), checkpoint: await checkpointAt(tx, events[prefix - 1]!) };
  },
  trySwap: trySwapAtAppliedPositions,
};

/** The projections whose recorded version is the code's: the ones the consumers fold now. */
export async function currentProjections(
  tx: SqlExecutor,
  projections: readonly AnyProjection[],
): Promise<AnyProjection[]> {
  const rows = await tx.query<{ name: string; version: number }>('SELECT name, version FROM aos_projections');
  const recorded = new Map(rows.map((row) => [row.name, row.version]));
  return projections.filter((p) => recorded.get(p.name) === p.version);
}
