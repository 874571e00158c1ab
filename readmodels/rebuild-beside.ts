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
import { parseCheckpoint } from '../domain/store/checkpoint.ts';
import type { SqlExecutor, SqlStore } from '../domain/store/sql-port.ts';
import type { AnyProjection, ReadModelTable } from '../projections/projection.ts';
import { saveCheckpoint } from './checkpointed-consumer.ts';
import { checkpointName, type ProjectionTarget, projectBatch } from './project-batch.ts';

const shadowTable = (table: string, version: number) => `${table}__v${version}`;
const shadowState = (projection: AnyProjection) => `${projection.name}@v${projection.version}`;
export const shadowCheckpoint = (projection: AnyProjection) =>
  `${checkpointName(projection)}@v${projection.version}`;

function shadowTarget(projection: AnyProjection): ProjectionTarget {
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

const byPosition = (a: string, b: string) => {
  const [x, y] = [parseCheckpoint(a), parseCheckpoint(b)];
  const first = BigInt(x.transactionId) - BigInt(y.transactionId);
  const order = first === 0n ? BigInt(x.globalPosition) - BigInt(y.globalPosition) : first;
  return order === 0n ? 0 : order < 0n ? -1 : 1;
};

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
 * Swaps the build in if it has read as far as the live checkpoint (which this locks, so the
 * live consumer waits); true when the build is over (swapped now, or by another process).
 */
async function trySwap(store: SqlStore, projection: AnyProjection): Promise<boolean> {
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
    if (byPosition(built, at.get(live) ?? '0:0') < 0) return false;
    await swapTables(tx, projection);
    await tx.query('DELETE FROM aos_projection_state WHERE projection = $1', [projection.name]);
    await tx.query('UPDATE aos_projection_state SET projection = $1 WHERE projection = $2', [
      projection.name,
      shadowState(projection),
    ]);
    await tx.query('DELETE FROM aos_checkpoints WHERE name = $1', [shadow]);
    await saveCheckpoint(tx, live, built);
    await tx.query(
      `INSERT INTO aos_projections (name, version) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
      [projection.name, projection.version],
    );
    return true;
  });
}

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
  options: { fresh: boolean; batchSize: number; pollIntervalMs?: number; onError?: (error: unknown) => void },
): Promise<ShadowBuild> {
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
    const next = await store.client.transaction(async (tx) => {
      const [row] = await tx.query<{ checkpoint: string }>(
        'SELECT checkpoint FROM aos_checkpoints WHERE name = $1 FOR UPDATE',
        [name],
      );
      if (!row) return null;
      if (row.checkpoint !== from) return row.checkpoint;
      await projectBatch(tx, projection, events, { target });
      await saveCheckpoint(tx, name, checkpoint);
      return checkpoint;
    });
    return { position: next, full: events.length === options.batchSize };
  };

  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const step = await batch(position);
        // No checkpoint row: another process has swapped the build in.
        if (step.position === null) return true;
        position = step.position;
        if (step.full || abort.signal.aborted) continue;
        if (await trySwap(store, projection)) return true;
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
