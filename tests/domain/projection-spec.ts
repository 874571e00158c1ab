// The projection's given/then, beside the decider's (spec.ts):
//   projectionSpec(projection).given(events).then(rows)
//   projectionSpec(projection).given(events).thenMatches(partialRows)
// The events are folded as the live runner and offline replay fold them: each upcast
// (projectedEvent), keyed by the projection's keyOf, applied to that entity's state, and the
// row changes applied to in-memory tables (replay/memory-tables.ts, the replay's own). Rows
// come back in the order they were first written.
import { expect } from 'vitest';
import type { DomainEvent } from '../../domain/decider.ts';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { type Projection, projectedEvent, type RowValues } from '../../projections/projection.ts';
import { MemoryTables } from '../../replay/memory-tables.ts';

/** Domain events (e.g. a run decider's) as one stream's recorded events, at `data.at` when they carry it. */
export function recorded(
  streamId: string,
  events: readonly DomainEvent[],
  options: { tenantId?: string; at?: string; firstGlobalPosition?: number } = {},
): RecordedEvent[] {
  const base = options.firstGlobalPosition ?? 1;
  return events.map((event, i) => {
    const at = (event.data as { at?: unknown }).at;
    return {
      eventId: `00000000-0000-4000-8000-${String(base + i).padStart(12, '0')}`,
      streamId,
      streamPosition: i,
      globalPosition: String(base + i),
      type: event.type,
      schemaVersion: 1,
      data: event.data,
      metadata: { tenantId: options.tenantId ?? 'tenant-1' },
      recordedAt: typeof at === 'string' ? at : (options.at ?? '2025-01-01T00:00:00.000Z'),
      prevHash: '0'.repeat(64),
      hash: '0'.repeat(64),
    };
  });
}

/** `tableName` names the table whose rows are checked; it may be left out when there is one. */
export function projectionSpec<State>(projection: Projection<State>, tableName?: string) {
  const table =
    tableName === undefined
      ? projection.tables.length === 1
        ? projection.tables[0]
        : undefined
      : projection.tables.find((t) => t.name === tableName);
  if (!table) throw new Error('projectionSpec: name the table of a projection with several');
  return {
    given(events: readonly RecordedEvent[]) {
      const fold = () => {
        const tables = new MemoryTables(projection.tables);
        const states = new Map<string, State>();
        for (const event of events.map(projectedEvent)) {
          if (!projection.eventTypes.includes(event.type)) continue;
          const key = projection.keyOf(event);
          if (key === null) continue;
          const result = projection.apply(states.get(key) ?? projection.initialState(), event);
          states.set(key, result.state);
          for (const change of result.changes) tables.apply(change);
        }
        return tables.rows(table.name);
      };
      return {
        /** Exactly these rows (every column). */
        // biome-ignore lint/suspicious/noThenProperty: given/then is the point; never awaited.
        then(expected: RowValues[]): RowValues[] {
          const rows = fold();
          expect(rows).toEqual(expected);
          return rows;
        },
        /** As many rows, each matching its partial shape (toMatchObject). */
        thenMatches(expected: RowValues[]): RowValues[] {
          const rows = fold();
          expect(rows).toHaveLength(expected.length);
          expect(rows).toMatchObject(expected);
          return rows;
        },
      };
    },
  };
}
