// Applies plain SQL migration files in name order, each once, recorded in aos_migrations.
// An advisory lock lets several processes start at once against one database.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlClient } from '../../domain/store/sql-port.ts';

export const eventStoreMigrations = fileURLToPath(new URL('./migrations/', import.meta.url));
const MIGRATION_LOCK = 0x414f53; // "AOS"

export interface AppliedMigration {
  name: string;
  applied: boolean;
}

export async function migrate(client: SqlClient, directories: string[] = [eventStoreMigrations]) {
  const files = (
    await Promise.all(
      directories.map(async (dir) =>
        (await readdir(dir)).filter((f) => f.endsWith('.sql')).map((f) => ({ name: f, path: join(dir, f) })),
      ),
    )
  )
    .flat()
    .sort((a, b) => a.name.localeCompare(b.name));

  // Under the lock too: two processes creating the table at once would collide in pg_type.
  await client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS aos_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  });

  const results: AppliedMigration[] = [];
  for (const file of files) {
    const sql = await readFile(file.path, 'utf8');
    const checksum = createHash('sha256').update(sql).digest('hex');
    const applied = await client.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const [done] = await tx.query<{ checksum: string }>(
        'SELECT checksum FROM aos_migrations WHERE name = $1',
        [file.name],
      );
      if (done) {
        if (done.checksum !== checksum) {
          throw new Error(
            `migration ${file.name} was changed after it was applied; add a new migration instead`,
          );
        }
        return false;
      }
      await tx.exec(sql);
      await tx.query('INSERT INTO aos_migrations (name, checksum) VALUES ($1, $2)', [file.name, checksum]);
      return true;
    });
    results.push({ name: file.name, applied });
  }
  return results;
}
