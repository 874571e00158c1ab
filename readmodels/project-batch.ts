// Folding a batch of events through one projection into SQL: the entity states it touches
// are loaded and saved, and its row changes applied, all through the caller's transaction.
// The target says which tables and states: the live ones, or a rebuild's beside them.
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { SqlExecutor } from '../domain/store/sql-port.ts';
import {
  type AnyProjection,
  projectedEvent,
  type ReadModelTable,
  type RowChange,
} from '../projections/projection.ts';
import { applyChanges } from './apply-changes.ts';

export const checkpointName = (projection: AnyProjection) => `projection:${projection.name}`;

export interface ProjectionTarget {
  /** Whose rows in aos_projection_state hold the entity states. */
  stateName: string;
  /** The table each of the projection's table names is written to. */
  tables: ReadonlyMap<string, ReadModelTable>;
}

export function liveTarget(projection: AnyProjection): ProjectionTarget {
  return { stateName: projection.name, tables: new Map(projection.tables.map((t) => [t.name, t])) };
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
  options: { lockKeys?: boolean; target?: ProjectionTarget } = {},
) {
  const target = options.target ?? liveTarget(projection);
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
    [target.stateName, keys],
  );
  const states = new Map<string, unknown>(rows.map((row) => [row.key, row.state]));
  const changes: RowChange[] = [];
  for (const { key, event } of relevant) {
    const result = projection.apply(states.has(key) ? states.get(key) : projection.initialState(), event);
    states.set(key, result.state);
    changes.push(...result.changes);
  }
  await applyChanges(tx, target.tables, changes);
  await tx.query(
    `INSERT INTO aos_projection_state (projection, key, state)
     SELECT $1, s.key, s.state FROM jsonb_to_recordset($2::jsonb) AS s(key text, state jsonb)
     ON CONFLICT (projection, key) DO UPDATE SET state = EXCLUDED.state`,
    [target.stateName, JSON.stringify(keys.map((key) => ({ key, state: states.get(key) ?? null })))],
  );
}
