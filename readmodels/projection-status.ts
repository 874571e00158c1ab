// How far each projection is behind the store: positions to the newest event, and how long
// the oldest event it has not processed has been waiting. A projection being rebuilt reports
// its build's checkpoint, and counts as behind until the build is swapped in.
import type { SqlExecutor } from '../domain/store/sql-port.ts';
import type { AnyProjection } from '../projections/projection.ts';
import { checkpointName } from './project-batch.ts';
import { shadowCheckpoints } from './rebuild-beside.ts';

export interface ProjectionStatus {
  name: string;
  version: number;
  checkpoint: string;
  /** Global positions between the checkpoint and the store's head (all event types). */
  behindEvents: number;
  behindSeconds: number;
}

export interface CheckpointLag {
  checkpoint: string;
  behindEvents: number;
  behindSeconds: number;
}

/**
 * Lag of any store checkpoints (projections, the Kafka publisher) behind the store's head:
 * in positions, and in seconds as the age of the oldest event not yet processed (the next
 * one after the checkpoint in commit order), 0 when caught up. The gap between the
 * checkpoint's event and the newest one would not grow while nothing new is appended.
 */
export async function checkpointLags(
  sql: Pick<SqlExecutor, 'query'>,
  names: readonly string[],
  now: Date = new Date(),
): Promise<Map<string, CheckpointLag>> {
  const [head] = await sql.query<{ position: string | null }>(
    'SELECT global_position::text AS position FROM aos_events ORDER BY global_position DESC LIMIT 1',
  );
  const rows = await sql.query<{ name: string; checkpoint: string | null; next_at: Date | string | null }>(
    `SELECT w.name, c.checkpoint, next.recorded_at AS next_at
       FROM unnest($1::text[]) AS w(name)
       LEFT JOIN aos_checkpoints c ON c.name = w.name
       LEFT JOIN LATERAL (
         SELECT e.recorded_at FROM aos_events e
          WHERE (e.transaction_id, e.global_position) > (
                  split_part(coalesce(c.checkpoint, '0:0'), ':', 1)::xid8,
                  split_part(coalesce(c.checkpoint, '0:0'), ':', 2)::bigint)
          ORDER BY e.transaction_id, e.global_position LIMIT 1) AS next ON true`,
    [names],
  );
  const byName = new Map(rows.map((row) => [row.name, row]));
  const headPosition = Number(head?.position ?? 0);
  return new Map(
    names.map((name) => {
      const row = byName.get(name);
      const checkpoint = row?.checkpoint ?? '0:0';
      const position = Number(checkpoint.split(':')[1] ?? 0);
      const nextAt = row?.next_at ? new Date(row.next_at).getTime() : undefined;
      const lag = {
        checkpoint,
        behindEvents: Math.max(0, headPosition - position),
        behindSeconds: nextAt === undefined ? 0 : Math.max(0, (now.getTime() - nextAt) / 1000),
      };
      return [name, lag];
    }),
  );
}

export async function projectionStatuses(
  sql: Pick<SqlExecutor, 'query'>,
  projections: readonly AnyProjection[],
  now?: Date,
): Promise<ProjectionStatus[]> {
  const builds = await shadowCheckpoints(sql);
  const followed = (projection: AnyProjection) => builds.get(projection.name) ?? checkpointName(projection);
  const lags = await checkpointLags(sql, projections.map(followed), now);
  return projections.map((projection) => {
    const lag = lags.get(followed(projection))!;
    const rebuilding = builds.has(projection.name);
    return {
      name: projection.name,
      version: projection.version,
      ...lag,
      behindEvents: rebuilding ? Math.max(1, lag.behindEvents) : lag.behindEvents,
    };
  });
}
