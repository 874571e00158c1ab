// The functions on the hot paths plan their statements once per session (migrations 160, 171,
// 181): what each of `names` in the current schema is set to, and what that should be.
import type { SqlExecutor } from '../../domain/store/sql-port.ts';

export async function planCacheModes(client: SqlExecutor, names: string[]) {
  const rows = await client.query<{ name: string; config: string[] | null }>(
    `SELECT proname AS name, proconfig AS config FROM pg_proc
      WHERE proname = ANY($1::text[]) AND pronamespace = current_schema()::regnamespace
      ORDER BY proname COLLATE "C"`,
    [names],
  );
  return rows.map((r) => [r.name, r.config]);
}

/** Every one of `names` planned once per session (a generic plan). */
export function plannedOncePerSession(names: string[]) {
  return [...names].sort().map((name) => [name, ['plan_cache_mode=force_generic_plan']]);
}
