// The canary's candidates: succeeded runs submitted in a window, read from the runs read
// model (rm_runs, indexed on created_at by migration 080). The sample is every candidate up to
// the limit in the order of md5(run_id): spread over the window and its tenants, and the same
// for the same runs.
import type { RecentRuns } from '../../commands/estimator-canary.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';

export function recentRunsFrom(sql: Pick<SqlExecutor, 'query'>): RecentRuns {
  return async (window, limit) => {
    const where = `status = 'succeeded' AND created_at >= $1::timestamptz AND created_at < $2::timestamptz`;
    const [count] = await sql.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM rm_runs WHERE ${where}`,
      [window.from, window.to],
    );
    const rows = await sql.query<{ run_id: string; tenant_id: string }>(
      `SELECT run_id, tenant_id FROM rm_runs WHERE ${where} ORDER BY md5(run_id), run_id LIMIT $3`,
      [window.from, window.to, limit],
    );
    return {
      candidates: Number(count?.n ?? 0),
      runs: rows.map((row) => ({ runId: row.run_id, tenantId: row.tenant_id })),
    };
  };
}
