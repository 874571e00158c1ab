// A projection for testing the runner itself: one row per event (insert) and a running
// total per stream (increment), plus the concurrent writers that feed it and the audit
// that tells whether every event took effect exactly once.
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import type { Projection } from '../../projections/projection.ts';
import { events, sleep } from './events.ts';
import type { StoreAdapter, StoreHarness } from './stores.ts';

/** A counting projection into `rm_test_events<suffix>` and `rm_test_totals<suffix>`. */
export function countingProjection(name: string, suffix = ''): Projection<{ seen: number }> {
  const [eventsTable, totalsTable] = [`rm_test_events${suffix}`, `rm_test_totals${suffix}`];
  return {
    name,
    version: 1,
    tables: [
      { name: eventsTable, keyColumns: ['event_id'], columns: ['stream_id', 'nth'] },
      { name: totalsTable, keyColumns: ['stream_id'], columns: ['events'] },
    ],
    eventTypes: ['Tested'],
    keyOf: (event) => event.streamId,
    initialState: () => ({ seen: 0 }),
    apply(state, event) {
      const seen = state.seen + 1;
      return {
        state: { seen },
        changes: [
          {
            table: eventsTable,
            kind: 'insert',
            key: { event_id: event.eventId },
            values: { stream_id: event.streamId, nth: seen },
          },
          {
            table: totalsTable,
            kind: 'increment',
            key: { stream_id: event.streamId },
            values: { events: 1 },
          },
        ],
      };
    },
  };
}

export const testProjection = countingProjection('test_counts');

export async function createTestProjectionTables(sql: Pick<SqlExecutor, 'exec'>, suffix = ''): Promise<void> {
  await sql.exec(`
    CREATE TABLE rm_test_events${suffix} (event_id uuid PRIMARY KEY, stream_id text NOT NULL, nth integer NOT NULL);
    CREATE TABLE rm_test_totals${suffix} (stream_id text PRIMARY KEY, events bigint NOT NULL DEFAULT 0);`);
}

/** A store on `adapter` with every migration and the test projection's tables, a set per suffix. */
export async function openWithTestProjectionTables(
  adapter: StoreAdapter<SqlEventStore>,
  suffixes: readonly string[] = [''],
): Promise<StoreHarness<SqlEventStore>> {
  const harness = await adapter.open();
  await migrate(harness.store.client, allMigrations);
  for (const suffix of suffixes) await createTestProjectionTables(harness.store.client, suffix);
  return harness;
}

/** Writers appending in transactions that wait a random few ms before committing. */
export async function concurrentDelayedWriters(
  store: SqlEventStore,
  options: { writers: number; appendsPerWriter: number; maxDelayMs: number },
): Promise<string[]> {
  const written: string[] = [];
  const writer = async (w: number) => {
    for (let i = 0; i < options.appendsPerWriter; i++) {
      const batch = events(1 + (i % 3));
      await store.client.transaction(async (tx) => {
        await store.appendWith(tx, `proj-${w}-${i % 3}`, batch, { expectedVersion: 'any' });
        await sleep(Math.floor(Math.random() * (options.maxDelayMs + 1)));
      });
      written.push(...batch.map((e) => e.eventId));
    }
  };
  await Promise.all(Array.from({ length: options.writers }, (_, w) => writer(w)));
  return written;
}

export interface ProjectionAudit {
  missing: number;
  repeated: number;
  wrongTotals: number;
  wrongSequences: number;
}

/** Waits for the rows to appear, then counts what is missing or applied more than once. */
export async function auditTestProjection(
  sql: Pick<SqlExecutor, 'query'>,
  written: string[],
  timeoutMs = 60_000,
  suffix = '',
): Promise<ProjectionAudit> {
  type Row = { event_id: string; stream_id: string; nth: number };
  const read = () => sql.query<Row>(`SELECT event_id::text, stream_id, nth FROM rm_test_events${suffix}`);
  const deadline = Date.now() + timeoutMs;
  let rows = await read();
  while (rows.length < written.length && Date.now() < deadline) {
    await sleep(50);
    rows = await read();
  }
  await sleep(200);
  // Only the rows of these writers' events (other tests' events may share the tables).
  const mine = new Set(written);
  rows = (await read()).filter((r) => mine.has(r.event_id));
  const ids = new Set(rows.map((r) => r.event_id));
  const perStream = new Map<string, number[]>();
  for (const row of rows) perStream.set(row.stream_id, [...(perStream.get(row.stream_id) ?? []), row.nth]);
  const totals = await sql.query<{ stream_id: string; events: string | number }>(
    `SELECT stream_id, events FROM rm_test_totals${suffix}`,
  );
  return {
    missing: written.filter((id) => !ids.has(id)).length,
    repeated: rows.length - ids.size,
    wrongTotals: totals.filter(
      (t) => perStream.has(t.stream_id) && Number(t.events) !== perStream.get(t.stream_id)!.length,
    ).length,
    // The per-stream state counted each event once: nth runs 1..n in every stream.
    wrongSequences: [...perStream.values()].filter((nths) =>
      nths.sort((a, b) => a - b).some((n, i) => n !== i + 1),
    ).length,
  };
}
