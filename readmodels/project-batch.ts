// Folding a batch of events through projections into SQL: the entity states they touch are
// loaded and saved, and their row changes applied, all through the caller's transaction.
// The target says which tables and states: the live ones, or a rebuild's beside them.
// Several projections fold one batch together in as many statements as one: one load of
// their states, one statement per table and kind, one save of their states.
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

/** Events for one projection to fold, into its live tables unless a target says otherwise. */
export interface ProjectionPart {
  projection: AnyProjection;
  events: readonly RecordedEvent[];
  target?: ProjectionTarget;
}

interface Fold {
  projection: AnyProjection;
  target: ProjectionTarget;
  relevant: { key: string; event: RecordedEvent }[];
  keys: string[];
}

function foldOf({ projection, events, target }: ProjectionPart): Fold | null {
  const relevant: Fold['relevant'] = [];
  for (const event of events) {
    if (!projection.eventTypes.includes(event.type)) continue;
    const upcasted = projectedEvent(event);
    const key = projection.keyOf(upcasted);
    if (key !== null) relevant.push({ key, event: upcasted });
  }
  if (relevant.length === 0) return null;
  const keys = [...new Set(relevant.map((r) => r.key))];
  return { projection, target: target ?? liveTarget(projection), relevant, keys };
}

/** The (state name, key) pairs of the folds, as two parallel arrays for unnest. */
const stateKeys = (folds: readonly Fold[]) => [
  folds.flatMap((f) => f.keys.map(() => f.target.stateName)),
  folds.flatMap((f) => f.keys),
];

/**
 * Folds a batch through projections, loading and saving the entity states they touch.
 * `lockKeys` takes a transaction lock per entity first, for callers that fold different
 * batches concurrently (Kafka consumers, one per partition); the store-driven runner needs
 * none, its checkpoint rows already serialise it. Keys are locked projection by projection
 * (in the parts' order), each projection's in one collation order, so two such
 * transactions given their projections in the same order cannot deadlock on each other.
 */
export async function projectBatches(
  tx: SqlExecutor,
  parts: readonly ProjectionPart[],
  options: { lockKeys?: boolean } = {},
): Promise<void> {
  const folds = parts.map(foldOf).filter((fold): fold is Fold => fold !== null);
  if (folds.length === 0) return;
  if (options.lockKeys) {
    await tx.query(
      `SELECT pg_advisory_xact_lock(hashtext(l.projection), hashtext(l.key))
         FROM unnest($1::text[], $2::text[], $3::int[]) AS l(projection, key, part) ORDER BY l.part, l.key`,
      [
        folds.flatMap((f) => f.keys.map(() => f.projection.name)),
        folds.flatMap((f) => f.keys),
        folds.flatMap((f, i) => f.keys.map(() => i)),
      ],
    );
  }
  const rows = await tx.query<{ projection: string; key: string; state: unknown }>(
    `SELECT s.projection, s.key, s.state FROM aos_projection_state s
       JOIN unnest($1::text[], $2::text[]) AS k(projection, key) USING (projection, key)`,
    stateKeys(folds),
  );
  const loaded = new Map<string, Map<string, unknown>>(folds.map((f) => [f.target.stateName, new Map()]));
  for (const row of rows) loaded.get(row.projection)!.set(row.key, row.state);
  const tables = new Map<string, ReadModelTable>();
  const changes: RowChange[] = [];
  const saved: { projection: string; key: string; state: unknown }[] = [];
  for (const { projection, target, relevant, keys } of folds) {
    const states = loaded.get(target.stateName)!;
    for (const { key, event } of relevant) {
      const result = projection.apply(states.has(key) ? states.get(key) : projection.initialState(), event);
      states.set(key, result.state);
      for (const change of result.changes) changes.push(change);
    }
    for (const [name, table] of target.tables) {
      if (tables.has(name)) throw new Error(`read-model table ${name} is folded by two projections at once`);
      tables.set(name, table);
    }
    for (const key of keys) saved.push({ projection: target.stateName, key, state: states.get(key) ?? null });
  }
  await applyChanges(tx, tables, changes);
  await tx.query(
    `INSERT INTO aos_projection_state (projection, key, state)
     SELECT s.projection, s.key, s.state FROM jsonb_to_recordset($1::jsonb) AS s(projection text, key text, state jsonb)
     ON CONFLICT (projection, key) DO UPDATE SET state = EXCLUDED.state`,
    [JSON.stringify(saved)],
  );
}

/** Folds a batch through one projection (projectBatches with one part). */
export function projectBatch(
  tx: SqlExecutor,
  projection: AnyProjection,
  events: readonly RecordedEvent[],
  options: { lockKeys?: boolean; target?: ProjectionTarget } = {},
): Promise<void> {
  const { target, ...rest } = options;
  return projectBatches(tx, [{ projection, events, ...(target ? { target } : {}) }], rest);
}
