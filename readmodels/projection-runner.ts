// Runs the projections live: one checkpointed consumer of the event store folds every batch
// through all of them (projection-group.ts), each projection's row changes, entity states and
// checkpoint committing in one transaction (exactly-once effect). A projection whose code
// version differs from the recorded one is rebuilt beside its live tables (rebuild-beside.ts):
// they keep answering, as of the old version, until the new build is swapped in; then the
// group folds it on from the build's checkpoint.
import type { SqlExecutor, SqlStore } from '../domain/store/sql-port.ts';
import type { AnyProjection } from '../projections/projection.ts';
import { checkpointName } from './project-batch.ts';
import { PROJECTION_BATCH, type ProjectionGroup, startProjectionGroup } from './projection-group.ts';
import {
  buildBeside,
  dropStaleShadow,
  type ShadowBuild,
  type ShadowSource,
  shadowCheckpoints,
} from './rebuild-beside.ts';

/**
 * Empties a projection's tables, states and checkpoint, so its live consumer re-folds from
 * the start (`npm run bench -- projections` times that fold; the server rebuilds beside).
 */
export async function resetProjection(tx: SqlExecutor, projection: AnyProjection): Promise<void> {
  for (const table of projection.tables) await tx.query(`DELETE FROM ${table.name}`);
  await tx.query('DELETE FROM aos_projection_state WHERE projection = $1', [projection.name]);
  await tx.query(`UPDATE aos_checkpoints SET checkpoint = '0:0', updated_at = now() WHERE name = $1`, [
    checkpointName(projection),
  ]);
  await tx.query(
    `INSERT INTO aos_projections (name, version) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
    [projection.name, projection.version],
  );
}

/**
 * What a projection needs at start-up: `current` (its version is recorded; a build left by
 * an interrupted rebuild of that version is resumed, `resume`), or `rebuild` (another
 * version is recorded). A projection never run before records its version and starts empty.
 */
async function startUpState(store: SqlStore, projection: AnyProjection) {
  return store.client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [checkpointName(projection)]);
    const [row] = await tx.query<{ version: number }>('SELECT version FROM aos_projections WHERE name = $1', [
      projection.name,
    ]);
    if (!row) {
      await resetProjection(tx, projection);
      return 'current';
    }
    if (row.version !== projection.version) return 'rebuild';
    const pending = (await shadowCheckpoints(tx)).get(projection.name);
    return pending === `${checkpointName(projection)}@v${projection.version}` ? 'resume' : 'current';
  });
}

export interface RunningProjections {
  /** Builds one projection afresh beside its live tables, which answer until it is swapped in. */
  rebuild(name: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ProjectionRunnerOptions {
  pollIntervalMs?: number;
  batchSize?: number;
  onError?: (error: unknown) => void;
  /**
   * false when something else folds into the live tables (the Kafka consumer group): then
   * this runs only the builds beside them, following `source`.
   */
  liveConsumers?: boolean;
  source?: ShadowSource;
}

export async function startProjections(
  store: SqlStore,
  projections: readonly AnyProjection[],
  options: ProjectionRunnerOptions = {},
): Promise<RunningProjections> {
  const { liveConsumers = true, source, ...consumerOptions } = options;
  const settings = { batchSize: PROJECTION_BATCH, ...consumerOptions };
  const builds = new Map<string, ShadowBuild>();
  /** Builds' endings still handing their projection to the live group (stop waits for them). */
  const handovers = new Set<Promise<void>>();
  let stopping = false;
  const startBuild = async (projection: AnyProjection, fresh: boolean) => {
    await builds.get(projection.name)?.stop();
    const build = await buildBeside(store, projection, { ...settings, fresh, ...(source ? { source } : {}) });
    builds.set(projection.name, build);
    // Swapped in: the live group (holding the old version's back until now) folds it on.
    const handover = build.done
      .then(async (swapped) => {
        if (!swapped) return;
        if (builds.get(projection.name) === build) builds.delete(projection.name);
        if (!stopping) await live?.add(projection);
      })
      .catch((error) => options.onError?.(error))
      .finally(() => handovers.delete(handover));
    handovers.add(handover);
  };

  const states = new Map<AnyProjection, Awaited<ReturnType<typeof startUpState>>>();
  for (const projection of projections) {
    const state = await startUpState(store, projection);
    if (state === 'current') await dropStaleShadow(store, projection);
    states.set(projection, state);
  }
  // The old version's tables keep answering but are not folded further by this version's
  // code (its states may not fit); a rebuild of the same version keeps its live folding.
  const live: ProjectionGroup | null = liveConsumers
    ? await startProjectionGroup(
        store,
        projections.filter((p) => states.get(p) !== 'rebuild'),
        settings,
      )
    : null;
  for (const projection of projections) {
    if (states.get(projection) !== 'current') await startBuild(projection, false);
  }
  return {
    async rebuild(name) {
      const projection = projections.find((p) => p.name === name);
      if (!projection) throw new Error(`no projection ${name}`);
      await startBuild(projection, true);
    },
    async stop() {
      stopping = true;
      await Promise.all([...builds.values()].map((build) => build.stop()));
      await Promise.all([...handovers]);
      await live?.stop();
    },
  };
}
