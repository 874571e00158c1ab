// How far each projection is behind the store: positions and seconds between the event at
// its checkpoint and the newest committed event.
import type { SqlExecutor } from '../infra/store/sql-client.ts';
import type { AnyProjection } from '../projections/projection.ts';
import { checkpointName } from './projection-runner.ts';

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

/** Lag of any store checkpoints (projections, the Kafka publisher) behind the store's head. */
export async function checkpointLags(
  sql: Pick<SqlExecutor, 'query'>,
  names: readonly string[],
): Promise<Map<string, CheckpointLag>> {
  const [head] = await sql.query<{ position: string | null; at: Date | string | null }>(
    `SELECT global_position::text AS position, recorded_at AS at FROM aos_events
      ORDER BY global_position DESC LIMIT 1`,
  );
  const rows = await sql.query<{ name: string; checkpoint: string; at: Date | string | null }>(
    `SELECT c.name, c.checkpoint, e.recorded_at AS at
       FROM aos_checkpoints c
       LEFT JOIN aos_events e ON e.global_position = nullif(split_part(c.checkpoint, ':', 2), '')::bigint
      WHERE c.name = ANY($1::text[])`,
    [names],
  );
  const byName = new Map(rows.map((row) => [row.name, row]));
  const headPosition = Number(head?.position ?? 0);
  const headAt = head?.at ? new Date(head.at).getTime() : 0;
  return new Map(
    names.map((name) => {
      const row = byName.get(name);
      const checkpoint = row?.checkpoint ?? '0:0';
      const position = Number(checkpoint.split(':')[1] ?? 0);
      const at = row?.at ? new Date(row.at).getTime() : headAt;
      const lag = {
        checkpoint,
        behindEvents: Math.max(0, headPosition - position),
        behindSeconds: headPosition > position ? Math.max(0, (headAt - at) / 1000) : 0,
      };
      return [name, lag];
    }),
  );
}

export async function projectionStatuses(
  sql: Pick<SqlExecutor, 'query'>,
  projections: readonly AnyProjection[],
): Promise<ProjectionStatus[]> {
  const lags = await checkpointLags(sql, projections.map(checkpointName));
  return projections.map((projection) => ({
    name: projection.name,
    version: projection.version,
    ...lags.get(checkpointName(projection))!,
  }));
}
