// Runs the projections live: each is a checkpointed consumer of the event store whose
// row changes, entity states and checkpoint commit in one transaction (exactly-once
// effect). A projection whose code version differs from the recorded one is rebuilt:
// its tables are emptied and it re-folds from the first event.
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { Subscription } from '../domain/store/event-store.ts';
import {
  type CheckpointedConsumer,
  startCheckpointedConsumer,
} from '../infra/store/checkpointed-consumer.ts';
import type { SqlExecutor } from '../infra/store/sql-client.ts';
import type { SqlEventStore } from '../infra/store/sql-event-store.ts';
import {
  type AnyProjection,
  projectedEvent,
  type ReadModelTable,
  type RowChange,
} from '../projections/projection.ts';
import { applyChanges } from './apply-changes.ts';

export const checkpointName = (projection: AnyProjection) => `projection:${projection.name}`;

function tablesOf(projection: AnyProjection): Map<string, ReadModelTable> {
  return new Map(projection.tables.map((table) => [table.name, table]));
}

/**
 * Folds a batch through one projection, loading and saving the entity states it touches.
 * `lockKeys` takes a transaction lock per entity first, for callers that fold different
 * batches concurrently (Kafka consumers, one per partition); the store-driven runner needs
 * none, its checkpoint row already serialises it. Keys are locked in one collation order, so
 * two such transactions cannot deadlock on each other.
 */
export async function projectBatch(
  tx: SqlExecutor,
  projection: AnyProjection,
  events: readonly RecordedEvent[],
  options: { lockKeys?: boolean } = {},
) {
  const relevant: { key: string; event: RecordedEvent }[] = [];
  for (const event of events) {
    if (!projection.eventTypes.includes(event.type)) continue;
    const upcasted = projectedEvent(event);
    const key = projection.keyOf(upcasted);
    if (key !== null) relevant.push({ key, event: upcasted });
  }
  if (relevant.length === 0) return;
  const keys = [...new Set(relevant.map((r) => r.key))];
  if (options.lockKeys) {
    await tx.query(
      'SELECT pg_advisory_xact_lock(hashtext($1), hashtext(k)) FROM unnest($2::text[]) AS k ORDER BY k',
      [projection.name, keys],
    );
  }
  const rows = await tx.query<{ key: string; state: unknown }>(
    'SELECT key, state FROM aos_projection_state WHERE projection = $1 AND key = ANY($2::text[])',
    [projection.name, keys],
  );
  const states = new Map<string, unknown>(rows.map((row) => [row.key, row.state]));
  const changes: RowChange[] = [];
  for (const { key, event } of relevant) {
    const result = projection.apply(states.has(key) ? states.get(key) : projection.initialState(), event);
    states.set(key, result.state);
    changes.push(...result.changes);
  }
  await applyChanges(tx, tablesOf(projection), changes);
  await tx.query(
    `INSERT INTO aos_projection_state (projection, key, state)
     SELECT $1, s.key, s.state FROM jsonb_to_recordset($2::jsonb) AS s(key text, state jsonb)
     ON CONFLICT (projection, key) DO UPDATE SET state = EXCLUDED.state`,
    [projection.name, JSON.stringify(keys.map((key) => ({ key, state: states.get(key) ?? null })))],
  );
}

export function projectionConsumer(projection: AnyProjection): CheckpointedConsumer {
  return {
    name: checkpointName(projection),
    // No type filter: the checkpoint must move over every event, or the lag would never
    // reach zero while the newest events are of other types.
    apply: (tx, events) => projectBatch(tx, projection, events),
  };
}

/** Empties a projection's tables, states and checkpoint, so it re-folds from the start. */
export async function resetProjection(tx: SqlExecutor, projection: AnyProjection): Promise<void> {
  for (const table of projection.tables) await tx.query(`DELETE FROM ${table.name}`);
  await tx.query('DELETE FROM aos_projection_state WHERE projection = $1', [projection.name]);
  await tx.query(`UPDATE aos_checkpoints SET checkpoint = '0:0', updated_at = now() WHERE name = $1`, [
    checkpointName(projection),
  ]);
  await tx.query(
    `INSERT INTO aos_projections (name, version) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
    [projection.name, projection.version],
  );
}

/** Rebuilds every projection whose recorded version is not its code's version. */
export async function reconcileVersions(store: SqlEventStore, projections: readonly AnyProjection[]) {
  const rebuilt: string[] = [];
  for (const projection of projections) {
    await store.client.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [checkpointName(projection)]);
      const [row] = await tx.query<{ version: number }>(
        'SELECT version FROM aos_projections WHERE name = $1',
        [projection.name],
      );
      if (row?.version === projection.version) return;
      await resetProjection(tx, projection);
      if (row) rebuilt.push(projection.name);
    });
  }
  return rebuilt;
}

export interface RunningProjections {
  /** Empties one projection and re-folds it from the first event while the others go on. */
  rebuild(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Events per batch (one transaction) of each projection. Larger than the subscription's
 * default: a catch-up or rebuild pays the transaction, the state lookup and one statement
 * per table per batch, and merges the changes to one row within a batch (a run's row is
 * written once per batch, not once per event). `npm run bench -- projections`: 2,000
 * rebuilt ~1.6x as fast as 500.
 */
export const PROJECTION_BATCH = 2000;

export async function startProjections(
  store: SqlEventStore,
  projections: readonly AnyProjection[],
  options: { pollIntervalMs?: number; batchSize?: number; onError?: (error: unknown) => void } = {},
): Promise<RunningProjections> {
  await reconcileVersions(store, projections);
  const start = (projection: AnyProjection) =>
    startCheckpointedConsumer(store, projectionConsumer(projection), {
      batchSize: PROJECTION_BATCH,
      ...options,
    });
  const running = new Map<string, Subscription>();
  for (const projection of projections) running.set(projection.name, await start(projection));
  return {
    async rebuild(name) {
      const projection = projections.find((p) => p.name === name);
      if (!projection) throw new Error(`no projection ${name}`);
      await running.get(name)?.stop();
      await store.client.transaction((tx) => resetProjection(tx, projection));
      running.set(name, await start(projection));
    },
    async stop() {
      await Promise.all([...running.values()].map((s) => s.stop()));
    },
  };
}
