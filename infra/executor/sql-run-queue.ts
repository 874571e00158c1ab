// The run queue on SQL: FOR UPDATE SKIP LOCKED lets many executors claim concurrently
// without waiting on each other or taking the same run.
import type { ClaimedRun, RunQueue } from '../../commands/run-queue.ts';
import type { SqlClient } from '../store/sql-client.ts';

export function createSqlRunQueue(client: SqlClient): RunQueue {
  return {
    async claim(owner, now, leaseMs, limit) {
      return client.query<ClaimedRun>(
        `UPDATE aos_run_queue q
            SET lease_owner = $1, lease_expires_at = $2::timestamptz + make_interval(secs => $3::float8 / 1000)
          WHERE q.run_id IN (
                SELECT run_id FROM aos_run_queue
                 WHERE NOT done AND due_at <= $2 AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
                 ORDER BY due_at
                 LIMIT $4
                   FOR UPDATE SKIP LOCKED)
        RETURNING q.run_id AS "runId", q.tenant_id AS "tenantId"`,
        [owner, now.toISOString(), leaseMs, limit],
      );
    },
    async renew(runId, owner, now, leaseMs) {
      const rows = await client.query(
        `UPDATE aos_run_queue
            SET lease_expires_at = $3::timestamptz + make_interval(secs => $4::float8 / 1000)
          WHERE run_id = $1 AND lease_owner = $2 AND NOT done
        RETURNING run_id`,
        [runId, owner, now.toISOString(), leaseMs],
      );
      return rows.length === 1;
    },
    async release(runId, owner, next) {
      await client.query(
        `UPDATE aos_run_queue
            SET lease_owner = NULL, lease_expires_at = NULL,
                due_at = coalesce($3::timestamptz, due_at), done = $4
          WHERE run_id = $1 AND lease_owner = $2`,
        [runId, owner, 'dueAt' in next ? next.dueAt.toISOString() : null, 'done' in next],
      );
    },
  };
}

/** Makes runs due now: new ones, and ones an approval or a cancel should wake. Idempotent. */
export async function enqueueRuns(
  tx: Pick<SqlClient, 'query'>,
  runs: { runId: string; tenantId: string; dueAt: string }[],
): Promise<void> {
  if (runs.length === 0) return;
  await tx.query(
    `INSERT INTO aos_run_queue (run_id, tenant_id, due_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
     ON CONFLICT (run_id) DO UPDATE SET due_at = LEAST(aos_run_queue.due_at, EXCLUDED.due_at)
      WHERE NOT aos_run_queue.done`,
    [runs.map((r) => r.runId), runs.map((r) => r.tenantId), runs.map((r) => r.dueAt)],
  );
}
