// What a projection is: pure code that turns one event, and the small state it keeps per
// entity, into changes to read-model rows. The live runner (readmodels/) applies the changes
// to SQL tables; offline replay (replay/) applies the same changes to in-memory tables.
import { eventRegistry } from '../domain/events/catalog.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';

/** The recorded event with its data upcast to the latest schema version. */
export type ProjectedEvent = RecordedEvent;

/**
 * What a projection is given for a recorded event: catalog events at their latest schema,
 * anything else as recorded. The live runner and offline replay both go through this. An
 * event already at the latest version is passed as recorded: the store validated it against
 * that schema at append, and parsing it again on every fold was most of a replay's time.
 */
export function projectedEvent(event: RecordedEvent): ProjectedEvent {
  if (!eventRegistry.has(event.type)) return event;
  if (event.schemaVersion === eventRegistry.latestVersion(event.type)) return event;
  return { ...event, data: eventRegistry.upcast(event.type, event.schemaVersion, event.data) };
}

export type RowValues = Record<string, unknown>;

/**
 * - insert: a new row (append-only tables);
 * - upsert: the row with this key becomes `values` (the last one in a batch wins);
 * - increment: numeric `values` add to the row's (created at zero); `…_at` instants keep the
 *   latest, `first_…_at` ones the earliest; others overwrite;
 * - latest: like upsert, unless the row's `at` is later than the change's — so the row is the
 *   latest whatever order events of different streams arrive in (Kafka keeps only a stream's).
 */
/** Whether instant `a` is later than `b` (ISO-8601 strings or Dates): what a `latest` change compares. */
export function isLater(a: unknown, b: unknown): boolean {
  return new Date(a as string).getTime() > new Date(b as string).getTime();
}

export interface RowChange {
  table: string;
  kind: 'insert' | 'upsert' | 'increment' | 'latest';
  key: RowValues;
  values: RowValues;
}

export interface ReadModelTable {
  name: string;
  keyColumns: readonly string[];
  /** Every other column, in order. */
  columns: readonly string[];
}

export interface Projection<State = unknown> {
  name: string;
  /** Bump to rebuild the projection's tables from the first event. */
  version: number;
  tables: readonly ReadModelTable[];
  eventTypes: readonly string[];
  /** The entity whose state the event changes; null when the event is not for this projection. */
  keyOf(event: ProjectedEvent): string | null;
  initialState(): State;
  apply(state: State, event: ProjectedEvent): { state: State; changes: RowChange[] };
  /**
   * The column of the projection's one table (keyed by one column, the entity's key) that holds
   * each entity's state: for a projection whose row is its state, so it is stored once. Then
   * every change of the state must upsert the row with the state in that column, and an entity
   * without a row has the initial state. Without it, states are kept beside the rows.
   */
  stateColumn?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of projections mixes state types
export type AnyProjection = Projection<any>;
