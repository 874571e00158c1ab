// A batch of projection row changes as SQL: one statement per table and kind,
// rows passed as one JSON array (jsonb_populate_recordset), so a batch of thousands of
// events costs a handful of round trips.
import { isLater, type ReadModelTable, type RowChange, type RowValues } from '../projections/projection.ts';

const rowKey = (change: RowChange) => JSON.stringify(change.key);

/** Merges changes to the same row: upserts keep the last, increments add up. */
export function mergeChanges(changes: readonly RowChange[]): Map<string, RowChange> {
  const merged = new Map<string, RowChange>();
  for (const change of changes) {
    const id = `${change.table}\u0000${change.kind}\u0000${rowKey(change)}`;
    const previous = merged.get(id);
    if (change.kind === 'increment' && previous) {
      const values: RowValues = { ...previous.values };
      for (const [column, value] of Object.entries(change.values)) {
        // A `first_…` column keeps the earliest value: the earlier change's.
        if (column.startsWith('first_') && values[column] !== undefined) continue;
        values[column] =
          typeof value === 'number' && typeof values[column] === 'number'
            ? (values[column] as number) + value
            : value;
      }
      merged.set(id, { ...change, values });
    } else if (change.kind === 'insert' && previous) {
      merged.set(`${id}\u0000${merged.size}`, change);
    } else if (change.kind === 'latest' && previous && isLater(previous.values.at, change.values.at)) {
      // The row keeps the later change, whichever came last.
    } else {
      merged.set(id, change);
    }
  }
  return merged;
}

/** A statement writing one table, with its one parameter ($1: the rows as JSON), ready to run. */
export interface Statement {
  table: string;
  sql: string;
  params: [string];
}

/**
 * The statements as few statements: those on different tables as the parts (data-modifying
 * CTEs) of one, so a batch's writes cost one round trip, not one per table. The parts of a
 * statement share its snapshot and must not write the same rows: a table written again (two
 * kinds of change) starts the next statement.
 */
export function combinedStatements(statements: readonly Statement[]): { sql: string; params: string[] }[] {
  const combined: Statement[][] = [];
  let current: Statement[] = [];
  for (const statement of statements) {
    if (current.some((part) => part.table === statement.table)) {
      combined.push(current);
      current = [];
    }
    current.push(statement);
  }
  if (current.length > 0) combined.push(current);
  return combined.map((parts) =>
    parts.length === 1
      ? { sql: parts[0]!.sql, params: parts[0]!.params }
      : {
          sql: `WITH ${parts
            .map((part, i) => `write_${i} AS (${part.sql.replace(/\$1(?!\d)/g, `$${i + 1}`)})`)
            .join(',\n')} SELECT 1`,
          params: parts.map((part) => part.params[0]),
        },
  );
}

/**
 * The statements that apply a batch's changes: one per table and kind. Their rows are
 * serialised here, so the values the changes point at may change afterwards.
 */
export function changeStatements(
  tables: ReadonlyMap<string, ReadModelTable>,
  changes: readonly RowChange[],
): Statement[] {
  const groups = new Map<string, RowChange[]>();
  for (const change of mergeChanges(changes).values()) {
    const group = `${change.table}\u0000${change.kind}`;
    const members = groups.get(group);
    if (members) members.push(change);
    else groups.set(group, [change]);
  }
  return [...groups.values()].map((group) => {
    const { table: name, kind } = group[0]!;
    const table = tables.get(name);
    if (!table) throw new Error(`no read-model table ${name}`);
    // Object.assign: on Node 20 a spread adding the other object's keys is ~10 times slower.
    const rows = group.map((change) => Object.assign({}, change.key, change.values));
    return { table: table.name, sql: statementFor(table, kind), params: [JSON.stringify(rows)] };
  });
}

function statementFor(table: ReadModelTable, kind: RowChange['kind']): string {
  const columns = [...table.keyColumns, ...table.columns];
  const insert = `INSERT INTO ${table.name} (${columns.join(', ')})
    SELECT ${columns.join(', ')} FROM jsonb_populate_recordset(NULL::${table.name}, $1::jsonb)`;
  const conflict = `ON CONFLICT (${table.keyColumns.join(', ')}) DO UPDATE SET`;
  switch (kind) {
    case 'insert':
      // Re-delivery of an applied batch cannot happen (checkpoint in the same transaction);
      // DO NOTHING keeps a rebuild safe all the same.
      return `${insert} ON CONFLICT DO NOTHING`;
    case 'upsert':
      return `${insert} ${conflict} ${table.columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
    case 'latest':
      return `${insert} ${conflict} ${table.columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
        WHERE ${table.name}.at <= EXCLUDED.at`;
    case 'increment':
      return `${insert} ${conflict} ${table.columns
        .map((c) => `${c} = ${incrementOf(table.name, c)}`)
        .join(', ')}`;
  }
}

/** Numeric columns add up; timestamps take the newer value (`first_…` ones the older). */
function incrementOf(tableName: string, column: string): string {
  const target = `${tableName}.${column}`;
  if (column.startsWith('first_')) return `least(${target}, EXCLUDED.${column})`;
  return column.endsWith('_at')
    ? `greatest(${target}, EXCLUDED.${column})`
    : `${target} + EXCLUDED.${column}`;
}
