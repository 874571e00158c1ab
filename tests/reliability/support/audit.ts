// What every scenario checks afterwards, straight from the database: nothing acknowledged
// lost, nothing twice, every run finished, every chain intact, read models rebuildable.
import type { SqlEventStore } from '../../../infra/store/sql-event-store.ts';
import { verifyStream } from '../../../infra/store/verify-stream.ts';
import { allProjections } from '../../../projections/all.ts';

export interface Audit {
  lost: string[];
  duplicatedEvents: number;
  duplicatedRuns: number;
  duplicatedCharges: number;
  unfinished: string[];
  brokenChains: string[];
  /** Reservations still holding a tenant's day budget after every run finished. */
  openReservations: string[];
}

/** What an audit that found nothing wrong holds. */
export const nothingWrong: Audit = {
  lost: [],
  duplicatedEvents: 0,
  duplicatedRuns: 0,
  duplicatedCharges: 0,
  unfinished: [],
  brokenChains: [],
  openReservations: [],
};

/** Waits (briefly: the last settlement lands just after a run's final event) for none to be open. */
async function waitForClosedReservations(store: SqlEventStore, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await store.client.query<{ id: string }>(
      `SELECT r.data->>'reservationId' AS id FROM aos_events r
        WHERE r.type = 'BudgetReserved' AND NOT EXISTS (
          SELECT 1 FROM aos_events c
           WHERE c.stream_id = r.stream_id AND c.type IN ('BudgetSettled', 'BudgetReleased')
             AND c.data->>'reservationId' = r.data->>'reservationId')`,
    );
    if (rows.length === 0 || Date.now() > deadline) return rows.map((r) => r.id);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function waitForTerminal(
  store: SqlEventStore,
  runIds: string[],
  timeoutMs: number,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await store.client.query<{ stream_id: string }>(
      `SELECT stream_id FROM aos_events WHERE type = 'RunCompleted' AND stream_id = ANY($1::text[])`,
      [runIds.map((id) => `run-${id}`)],
    );
    const done = new Set(rows.map((r) => r.stream_id));
    const unfinished = runIds.filter((id) => !done.has(`run-${id}`));
    if (unfinished.length === 0 || Date.now() > deadline) return unfinished;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function audit(
  store: SqlEventStore,
  acknowledged: Map<string, string>,
  timeoutMs = 90_000,
): Promise<Audit> {
  const runIds = [...acknowledged.values()];
  const submitted = await store.client.query<{ stream_id: string; n: string | number }>(
    `SELECT stream_id, count(*) AS n FROM aos_events WHERE type = 'RunSubmitted' GROUP BY stream_id`,
  );
  const submittedRuns = new Map(submitted.map((r) => [r.stream_id, Number(r.n)]));
  const [events] = await store.client.query<{ total: string | number; distinct_ids: string | number }>(
    'SELECT count(*) AS total, count(DISTINCT event_id) AS distinct_ids FROM aos_events',
  );
  const [charges] = await store.client.query<{ dup: string | number }>(
    `SELECT count(*) AS dup FROM (
       SELECT stream_id, data->>'stepIndex', data->>'attempt' FROM aos_events WHERE type = 'CostCharged'
        GROUP BY 1, 2, 3 HAVING count(*) > 1) d`,
  );
  const unfinished = await waitForTerminal(store, runIds, timeoutMs);
  const openReservations = await waitForClosedReservations(store);
  const streams = await store.client.query<{ stream_id: string }>('SELECT stream_id FROM aos_streams');
  const brokenChains: string[] = [];
  for (const { stream_id } of streams) {
    if (!(await verifyStream(store, stream_id)).ok) brokenChains.push(stream_id);
  }
  return {
    lost: runIds.filter((id) => !submittedRuns.has(`run-${id}`)),
    duplicatedEvents: Number(events!.total) - Number(events!.distinct_ids),
    duplicatedRuns: [...submittedRuns.values()].filter((n) => n > 1).length,
    duplicatedCharges: Number(charges!.dup),
    unfinished,
    brokenChains,
    openReservations,
  };
}

/** Every read-model table, ordered by its key, for comparing a live state with a rebuild. */
export async function readModelSnapshot(store: SqlEventStore) {
  const tables: Record<string, unknown[]> = {};
  for (const projection of allProjections) {
    for (const table of projection.tables) {
      tables[table.name] = await store.client.query(
        `SELECT * FROM ${table.name} ORDER BY ${table.keyColumns.join(', ')}`,
      );
    }
  }
  return tables;
}
