// Whether a SQL client's database belongs to this process alone (PGlite) rather than being
// shared by instances (PostgreSQL): what one process coordinates in memory needs no SQL there.
import type { SqlExecutor } from '../../domain/store/sql-port.ts';

export async function ownedByThisProcess(client: Pick<SqlExecutor, 'query'>): Promise<boolean> {
  const [row] = await client.query<{ version: string }>('SELECT version() AS version');
  return row?.version.includes('PGlite') ?? false;
}
