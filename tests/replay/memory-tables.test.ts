// Replay's in-memory tables give the rows the live runner's SQL gives (readmodels/apply-changes.ts),
// whatever mix of changes a row gets: a row only upserted is kept as its latest values until
// read, and any other change to it works on the row those values make.
import { describe, expect, it } from 'vitest';
import type { RowChange } from '../../projections/projection.ts';
import { MemoryTables } from '../../replay/memory-tables.ts';

const table = { name: 't', keyColumns: ['id'], columns: ['n', 'note', 'at'] };
const change = (kind: RowChange['kind'], id: string, values: RowChange['values']): RowChange => ({
  table: 't',
  kind,
  key: { id },
  values,
});

function rowsAfter(changes: RowChange[]) {
  const tables = new MemoryTables([table]);
  for (const c of changes) tables.apply(c);
  return tables.rows('t');
}

describe('MemoryTables', () => {
  it('makes an upserted row of its latest values, every column present, in first-written order', () => {
    const rows = rowsAfter([
      change('upsert', 'a', { n: 1, note: 'first' }),
      change('insert', 'b', { n: 5 }),
      change('upsert', 'a', { n: 2 }),
    ]);
    expect(rows).toEqual([
      { id: 'a', n: 2, note: null, at: null },
      { id: 'b', n: 5, note: null, at: null },
    ]);
  });

  it('adds an increment to an upserted row, and upserts over an incremented one', () => {
    expect(
      rowsAfter([change('upsert', 'a', { n: 1, note: 'x' }), change('increment', 'a', { n: 2 })]),
    ).toEqual([{ id: 'a', n: 3, note: 'x', at: null }]);
    expect(rowsAfter([change('increment', 'a', { n: 2 }), change('upsert', 'a', { n: 7 })])).toEqual([
      { id: 'a', n: 7, note: null, at: null },
    ]);
  });

  it('keeps an upserted row that is later than a latest change, and an insert does not replace it', () => {
    const later = '2025-01-02T00:00:00.000Z';
    const earlier = '2025-01-01T00:00:00.000Z';
    expect(
      rowsAfter([
        change('upsert', 'a', { n: 1, at: later }),
        change('latest', 'a', { n: 2, at: earlier }),
        change('insert', 'a', { n: 3 }),
      ]),
    ).toEqual([{ id: 'a', n: 1, note: null, at: later }]);
    expect(
      rowsAfter([change('upsert', 'a', { n: 1, at: earlier }), change('latest', 'a', { n: 2, at: later })]),
    ).toEqual([{ id: 'a', n: 2, note: null, at: later }]);
  });

  it('reads the same rows twice', () => {
    const tables = new MemoryTables([table]);
    tables.apply(change('upsert', 'a', { n: 1 }));
    expect(tables.rows('t')).toEqual(tables.rows('t'));
    expect(tables.count('t')).toBe(1);
  });
});
