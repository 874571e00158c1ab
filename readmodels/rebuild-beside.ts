// Rebuilding a projection beside its live tables. The new build folds from the first event
// into shadow tables (`rm_runs__v3`: the live table's shape, suffixed with the version being
// built), with its own entity states and checkpoint, while the live tables keep answering.
// Once the shadow has read at least as far as the live checkpoint, one transaction swaps it
// in: the live tables are dropped and the shadow ones renamed to their names, the states and
// the checkpoint move over, and the version is recorded. Queries name the live tables only,
// so they see the old answer until that commit and the new one after it, never a partial one.
// Every batch of the build commits with its checkpoint: a crash leaves the live tables
// answering, and the next start resumes the build where it stopped. (Read-model tables own
// no sequences and no foreign keys point at them, so LIKE copies all there is of them.)
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { SqlExecutor, SqlStore } from '../domain/store/sql-port.ts';
import type { AnyProjection, ReadModelTable } from '../projections/projection.ts';
import { compareCheckpoints } from './checkpoint-order.ts';
import { saveCheckpoint } from './checkpointed-consumer.ts';
import { checkpointName, type ProjectionTarget, projectBatch } from './project-batch.ts';

const shadowTable = (table: string, version: number) => `${table}__v${version}`;
export const shadowState = (projection: AnyProjection) => `${projection.name}@v${projection.version}`;
export const shadowCheckpoint = (projection: AnyProjection) =>
  `${checkpointName(projection)}@v${projection.version}`;

export function shadowTarget(projection: AnyProjection): ProjectionTarget {
  return {
    stateName: shadowState(projection),
    tables: new Map(
      projection.tables.map((table): [string, ReadModelTable] => [
        table.name,
        { ...table, name: shadowTable(table.name, projection.version) },
      ]),
    ),
  };
}

/** The checkpoints of the builds in progress (any version), by projection name. */
export async function shadowCheckpoints(sql: Pick<SqlExecutor, 'query'>): Promise<Map<string, string>> {
  const rows = await sql.query<{ name: string }>(
    `SELECT name FROM aos_checkpoints WHERE name LIKE 'projection:%@v%'`,
  );
  return new Map(rows.map(({ name }) => [name.slice('projection:'.length).replace(/@v\d+$/, ''), name]));
}

/** Drops a build of any version: its tables, entity states and checkpoint. */
async function dropShadow(tx: SqlExecutor, projection: AnyProjection, checkpoint: string) {
  const version = Number(/@v(\d+)$/.exec(checkpoint)![1]);
  for (const table of projection.tables)
    await tx.query(`DROP TABLE IF EXISTS ${shadowTable(table.name, version)}`);
  await tx.query('DELETE FROM aos_projection_state WHERE projection = $1', [
    `${projection.name}@v${version}`,
  ]);
  await tx.query('DELETE FROM aos_checkpoints WHERE name = $1', [checkpoint]);
}

/**
 * Makes sure a build of the code's version exists (a new one when `fresh`, or none was
 * left), dropping a build of another version; returns the build's checkpoint.
 */
async function prepareShadow(store: SqlStore, projection: AnyProjection, fresh: boolean) {
  return store.client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [checkpointName(projection)]);
    const existing = (await shadowCheckpoints(tx)).get(projection.name);
    if (existing && (fresh || existing !== shadowCheckpoint(projection))) {
      await dropShadow(tx, projection, existing);
    } else if (existing) {
      const [row] = await tx.query<{ checkpoint: string }>(
        'SELECT checkpoint FROM aos_checkpoints WHERE name = $1',
        [existing],
      );
      return row!.checkpoint;
    }
    for (const table of projection.tables) {
      await tx.query(
        `CREATE TABLE ${shadowTable(table.name, projection.version)} (LIKE ${table.name} INCLUDING ALL)`,
      );
    }
    await saveCheckpoint(tx, shadowCheckpoint(projection), '0:0');
    return '0:0';
  });
}

/** Drops a build left over from an interrupted rebuild whose projection needs none now. */
export async function dropStaleShadow(store: SqlStore, projection: AnyProjection): Promise<void> {
  await store.client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [checkpointName(projection)]);
    const existing = (await shadowCheckpoints(tx)).get(projection.name);
    if (existing) await dropShadow(tx, projection, existing);
  });
}

/** The index names of a table in this schema, by their definition without name and table. */
async function indexesOf(tx: SqlExecutor, table: string): Promise<Map<string, string>> {
  const rows = await tx.query<{ indexname: string; indexdef: string }>(
    'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1',
    [table],
  );
  return new Map(rows.map((row) => [row.indexdef.replace(/ INDEX \S+ ON \S+/, ' INDEX'), row.indexname]));
}

/** The shadow tables take the live ones' names, their indexes the live indexes' names. */
async function swapTables(tx: SqlExecutor, projection: AnyProjection) {
  for (const table of projection.tables) {
    const shadow = shadowTable(table.name, projection.version);
    const liveIndexes = await indexesOf(tx, table.name);
    const shadowIndexes = await indexesOf(tx, shadow);
    await tx.query(`DROP TABLE ${table.name}`);
    await tx.query(`ALTER TABLE ${shadow} RENAME TO ${table.name}`);
    for (const [definition, name] of shadowIndexes) {
      const live = liveIndexes.get(definition);
      if (live && live !== name) await tx.query(`ALTER INDEX ${name} RENAME TO ${live}`);
    }
  }
}

/**
 * The build takes the live tables' place: its tables their names, its entity states theirs,
 * and the code's version is recorded. Its checkpoint is dropped; the caller holds the locks.
 */
export async function swapIn(tx: SqlExecutor, projection: AnyProjection): Promise<void> {
  await swapTables(tx, projection);
  await tx.query('DELETE FROM aos_projection_state WHERE projection = $1', [projection.name]);
  await tx.query('UPDATE aos_projection_state SET projection = $1 WHERE projection = $2', [
    projection.name,
    shadowState(projection),
  ]);
  await tx.query('DELETE FROM aos_checkpoints WHERE name = $1', [shadowCheckpoint(projection)]);
  await tx.query(
    `INSERT INTO aos_projections (name, version) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
    [projection.name, projection.version],
  );
}

/**
 * Swaps the build in if it has read as far as the live checkpoint (which this locks, so the
 * live consumer waits); true when the build is over (swapped now, or by another process).
 */
async function trySwapAtLiveCheckpoint(store: SqlStore, projection: AnyProjection): Promise<boolean> {
  return store.client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [checkpointName(projection)]);
    const live = checkpointName(projection);
    const shadow = shadowCheckpoint(projection);
    const rows = await tx.query<{ name: string; checkpoint: string }>(
      'SELECT name, checkpoint FROM aos_checkpoints WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE',
      [[live, shadow]],
    );
    const at = new Map(rows.map((row) => [row.name, row.checkpoint]));
    const built = at.get(shadow);
    if (built === undefined) return true;
    if (compareCheckpoints(built, at.get(live) ?? '0:0') < 0) return false;
    await swapIn(tx, projection);
    await saveCheckpoint(tx, live, built);
    return true;
  });
}

/**
 * What a build follows. The store-driven runner's build folds every event and swaps in once
 * it has read as far as the live checkpoint; a build under the Kafka consumers folds only
 * what they have applied (infra/kafka/kafka-rebuild.ts).
 */
export interface ShadowSource {
  /**
   * The part of a batch read from the store the build may fold now (a prefix), and the
   * checkpoint after it; none, and the build waits where it is.
   */
  foldable(
    tx: SqlExecutor,
    events: RecordedEvent[],
    checkpoint: string,
  ): Promise<{ events: RecordedEvent[]; checkpoint: string }>;
  /** Swaps the build in when it has caught up; true when the build is over. */
  trySwap(store: SqlStore, projection: AnyProjection): Promise<boolean>;
}

export const liveCheckpointSource: ShadowSource = {
  foldable: async (_tx, events, checkpoint) => ({ events, checkpoint }),
  trySwap: trySwapAtLiveCheckpoint,
};

export interface ShadowBuild {
  /** True once the build has been swapped in (here or by another process), false if stopped. */
  done: Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Starts (or, unless `fresh`, resumes) building the projection's code version beside its
 * live tables; resolves once the build's tables exist, so its progress shows at once.
 */
export async function buildBeside(
  store: SqlStore,
  projection: AnyProjection,
  options: {
    fresh: boolean;
    batchSize: number;
    pollIntervalMs?: number;
    onError?: (error: unknown) => void;
    source?: ShadowSource;
  },
): Promise<ShadowBuild> {
  const source = options.source ?? liveCheckpointSource;
  const abort = new AbortController();
  const pause = () =>
    sleep(options.pollIntervalMs ?? 250, undefined, { signal: abort.signal }).catch(() => {});
  const name = shadowCheckpoint(projection);
  const target = shadowTarget(projection);
  let position = await prepareShadow(store, projection, options.fresh);

  const batch = async (from: string) => {
    const { events, checkpoint } = await store.readAll({ after: from, limit: options.batchSize });
    if (events.length === 0) return { position: from, full: false };
    // The build's checkpoint row serialises processes building the same version.
    let folded = 0;
    const next = await store.client.transaction(async (tx) => {
      const [row] = await tx.query<{ checkpoint: string }>(
        'SELECT checkpoint FROM aos_checkpoints WHERE name = $1 FOR UPDATE',
        [name],
      );
      if (!row) return null;
      if (row.checkpoint !== from) return row.checkpoint;
      const allowed = await source.foldable(tx, events, checkpoint);
      folded = allowed.events.length;
      if (folded === 0) return from;
      await projectBatch(tx, projection, allowed.events, { target });
      await saveCheckpoint(tx, name, allowed.checkpoint);
      return allowed.checkpoint;
    });
    return { position: next, full: events.length === options.batchSize && folded === events.length };
  };

  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const step = await batch(position);
        // No checkpoint row: another process has swapped the build in.
        if (step.position === null) return true;
        position = step.position;
        if (step.full || abort.signal.aborted) continue;
        if (await source.trySwap(store, projection)) return true;
        await pause();
      } catch (error) {
        options.onError?.(error);
        await pause();
      }
    }
    return false;
  };
  const done = run();
  return {
    done,
    async stop() {
      abort.abort();
      await done;
    },
  };
}
