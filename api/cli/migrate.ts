// `aos migrate`: applies pending SQL migrations to the configured store and exits. It says
// which store it migrates, and refuses to guess: with DATABASE_URL set but AOS_STORE unset,
// the default (the embedded PGlite store) is almost certainly not what was meant.
import type { Command } from 'commander';
import type { Config } from '../../infra/config.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import { openSqlClient } from '../../infra/store/open-event-store.ts';

export class AmbiguousStoreError extends Error {
  override readonly name = 'AmbiguousStoreError';
}

/** The store `aos migrate` would migrate, in words; throws when the environment is ambiguous. */
export function migrationTarget(config: Config, env: Record<string, string | undefined>): string {
  if (!env.AOS_STORE && env.DATABASE_URL) {
    throw new AmbiguousStoreError(
      'DATABASE_URL is set but AOS_STORE is not, so it is unclear which store to migrate: ' +
        'set AOS_STORE=postgres to migrate that database, or AOS_STORE=pglite for the embedded store in AOS_DATA_DIR',
    );
  }
  if (config.AOS_STORE === 'pglite') return `the embedded PGlite store in ${config.AOS_DATA_DIR}`;
  const url = new URL(config.DATABASE_URL!);
  return `the PostgreSQL database ${url.pathname.slice(1) || '(default)'} at ${url.host}`;
}

export function migrateCommand(program: Command, configOrExit: () => Config): void {
  program
    .command('migrate')
    .description('apply pending SQL migrations to the configured store (AOS_STORE) and exit')
    .action(async () => {
      const config = configOrExit();
      let target: string;
      try {
        target = migrationTarget(config, process.env);
      } catch (error) {
        if (!(error instanceof AmbiguousStoreError)) throw error;
        console.error(`aos migrate: ${error.message}`);
        process.exit(2);
      }
      console.log(`migrating ${target}`);
      const client = await openSqlClient(config);
      try {
        for (const migration of await migrate(client, allMigrations)) {
          console.log(`${migration.applied ? 'applied ' : 'up to date'}  ${migration.name}`);
        }
      } finally {
        await client.close();
      }
    });
}
