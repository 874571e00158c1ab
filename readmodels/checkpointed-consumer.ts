// A reader of all events whose effects and checkpoint commit in one transaction: a batch
// is applied exactly once, even across crashes and re-delivery. The run-queue feeder
// (infra/executor/) and the webhook enqueuer are built on it; the projections run as one
// group with a checkpoint each (projection-group.ts).
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { ReadAllFilter, Subscription } from '../domain/store/event-store.ts';
import type { SqlExecutor, SqlStore } from '../domain/store/sql-port.ts';

export interface CheckpointedConsumer {
  name: string;
  filter?: ReadAllFilter;
  apply(tx: SqlExecutor, events: RecordedEvent[]): Promise<void>;
  /** Called once a batch it applied has committed (to announce what it wrote). */
  committed?(): void;
}

export async function readCheckpoint(sql: SqlExecutor, name: string): Promise<string | undefined> {
  const [row] = await sql.query<{ checkpoint: string }>(
    'SELECT checkpoint FROM aos_checkpoints WHERE name = $1',
    [name],
  );
  return row?.checkpoint;
}

/**
 * Moves several checkpoints to the same point in one statement; answers each row's version
 * (its xmin: this transaction's id), by which a later transaction tells it unchanged since.
 */
export async function saveCheckpoints(
  tx: SqlExecutor,
  names: readonly string[],
  checkpoint: string,
): Promise<Map<string, string>> {
  const rows = await tx.query<{ name: string; version: string }>(
    `INSERT INTO aos_checkpoints (name, checkpoint, updated_at) SELECT name, $2, now() FROM unnest($1::text[]) AS name
     ON CONFLICT (name) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_at = EXCLUDED.updated_at
     RETURNING name, xmin::text AS version`,
    [names, checkpoint],
  );
  return new Map(rows.map((row) => [row.name, row.version]));
}

export async function saveCheckpoint(tx: SqlExecutor, name: string, checkpoint: string): Promise<void> {
  await saveCheckpoints(tx, [name], checkpoint);
}

/** Makes sure the checkpoints exist (at the start when new), so that they can be locked. */
export async function createCheckpoints(sql: SqlExecutor, names: readonly string[]): Promise<void> {
  await sql.query(
    `INSERT INTO aos_checkpoints (name, checkpoint) SELECT name, '0:0' FROM unnest($1::text[]) AS name
     ON CONFLICT (name) DO NOTHING`,
    [names],
  );
}

/** How long a busy consumer lets events gather before its next batch. */
export const CONSUMER_GATHER_MS = 50;

export async function startCheckpointedConsumer(
  store: SqlStore,
  consumer: CheckpointedConsumer,
  options: {
    pollIntervalMs?: number;
    batchSize?: number;
    gatherMs?: number;
    onError?: (error: unknown) => void;
  } = {},
): Promise<Subscription> {
  await createCheckpoints(store.client, [consumer.name]);
  let position = (await readCheckpoint(store.client, consumer.name)) ?? '0:0';
  return store.subscribe(
    async (events, checkpoint) => {
      // The checkpoint row is locked for the batch: another process running the same
      // consumer waits, then finds the checkpoint moved and continues from there instead.
      let applied = false;
      position = await store.client.transaction(async (tx) => {
        const [row] = await tx.query<{ checkpoint: string }>(
          'SELECT checkpoint FROM aos_checkpoints WHERE name = $1 FOR UPDATE',
          [consumer.name],
        );
        if (row!.checkpoint !== position) return row!.checkpoint;
        await consumer.apply(tx, events);
        await saveCheckpoint(tx, consumer.name, checkpoint);
        applied = true;
        return checkpoint;
      });
      if (applied) consumer.committed?.();
      return position;
    },
    {
      after: position,
      ...(consumer.filter ? { filter: consumer.filter } : {}),
      // A batch is a transaction of several statements: under load, one per CONSUMER_GATHER_MS
      // with what arrived meanwhile, not one per append (read models lag by at most that).
      gatherMs: CONSUMER_GATHER_MS,
      ...options,
    },
  );
}
