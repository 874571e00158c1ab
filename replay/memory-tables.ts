// Read-model tables in memory, for offline replay: the projections' row changes applied with
// the same meaning the live runner's SQL gives them (readmodels/apply-changes.ts):
// - insert: a new row; a row already there with that key stays (ON CONFLICT DO NOTHING);
// - upsert: the row becomes key + values;
// - increment: numeric values add to the row's (created at zero), `*_at` columns keep the
//   later instant (greatest), others overwrite.
import { isLater, type ReadModelTable, type RowChange, type RowValues } from '../projections/projection.ts';

/**
 * A row written by upserts only, kept as its first key and its latest values until it is read:
 * most rows are upserted on every event of their entity (rm_runs, rm_run_context), and copying
 * every column each time was most of the tables' time. Read, it is the row the copies made.
 */
class UpsertedRow {
  constructor(
    readonly key: RowValues,
    public values: RowValues,
  ) {}
}

type HeldRow = RowValues | UpsertedRow;

interface HeldTable {
  table: ReadModelTable;
  rows: Map<string, HeldRow>;
}

export class MemoryTables {
  readonly #tables = new Map<string, HeldTable>();

  constructor(tables: readonly ReadModelTable[]) {
    for (const table of tables) this.#tables.set(table.name, { table, rows: new Map() });
  }

  apply(change: RowChange): void {
    const held = this.#tables.get(change.table);
    if (!held) throw new Error(`no read-model table ${change.table}`);
    const { table, rows } = held;
    const id = keyOf(table, change.key);
    const found = rows.get(id);
    if (change.kind === 'upsert' && (found === undefined || found instanceof UpsertedRow)) {
      if (found) found.values = change.values;
      else rows.set(id, new UpsertedRow(change.key, change.values));
      return;
    }
    const existing = found instanceof UpsertedRow ? materialized(held, id, found) : found;
    // The row is later than the change: it stays.
    if (change.kind === 'latest' && existing && isLater(existing.at, change.values.at)) return;
    switch (change.kind) {
      case 'insert':
        if (!existing) rows.set(id, rowOf(table, change.key, change.values));
        return;
      case 'latest':
      case 'upsert':
        // In place: a fresh row each time was a good part of a replay's garbage.
        if (existing) for (const column of table.columns) existing[column] = change.values[column] ?? null;
        else rows.set(id, rowOf(table, change.key, change.values));
        return;
      case 'increment': {
        if (!existing) {
          rows.set(id, rowOf(table, change.key, change.values));
          return;
        }
        for (const [column, value] of Object.entries(change.values)) {
          const current = existing[column];
          if (column.endsWith('_at')) {
            const replaces =
              current === null ||
              current === undefined ||
              (column.startsWith('first_')
                ? instant(value) < instant(current)
                : instant(value) > instant(current));
            if (replaces) existing[column] = value;
          } else if (typeof value === 'number' && typeof current === 'number') {
            existing[column] = current + value;
          } else {
            existing[column] = value;
          }
        }
      }
    }
  }

  /** The table's rows, in the order they were first written. */
  rows(table: string): RowValues[] {
    const held = this.#tables.get(table);
    if (!held) throw new Error(`no read-model table ${table}`);
    return Array.from(held.rows, ([id, row]) =>
      row instanceof UpsertedRow ? materialized(held, id, row) : row,
    );
  }

  count(table: string): number {
    return this.#tables.get(table)?.rows.size ?? 0;
  }
}

/** The upserted row made a row in its place (which keeps its position in the table's order). */
function materialized({ table, rows }: HeldTable, id: string, upserted: UpsertedRow): RowValues {
  const row = rowOf(table, upserted.key, upserted.values);
  rows.set(id, row);
  return row;
}

function keyOf(table: ReadModelTable, key: RowValues): string {
  if (table.keyColumns.length === 1) return String(key[table.keyColumns[0]!]);
  let id = '';
  for (const column of table.keyColumns) id += `${String(key[column])}\u0000`;
  return id;
}

/** A row as SQL would hold it: every column present, null where the change gave none. */
function rowOf(table: ReadModelTable, key: RowValues, values: RowValues): RowValues {
  const row: RowValues = {};
  for (const column of table.keyColumns) row[column] = key[column] ?? null;
  for (const column of table.columns) row[column] = values[column] ?? null;
  return row;
}

function instant(value: unknown): number {
  return typeof value === 'string' ? Date.parse(value) : Number.NEGATIVE_INFINITY;
}
