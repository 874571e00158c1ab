// One canary at a time across every `aos serve` on a database. On PostgreSQL: a transaction
// that holds pg_try_advisory_xact_lock while the canary runs on other connections (it takes no
// transaction id, so it does not hold back the event store's readers); whoever does not get the
// lock does not run. On PGlite, which one process owns and whose one connection a held
// transaction would block, the lock is this process's.
import type { CanaryLock } from '../../commands/estimator-canary.ts';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import { ownedByThisProcess } from '../store/single-process.ts';

/** hashtext('aos:estimator-canary') would do as well; a constant keeps it greppable in pg_locks. */
export const CANARY_LOCK_KEY = 1_800_018;

function processLock(): CanaryLock {
  let held = false;
  return {
    async withLock(fn) {
      if (held) return null;
      held = true;
      try {
        return { value: await fn() };
      } finally {
        held = false;
      }
    },
  };
}

function advisoryLock(client: SqlClient): CanaryLock {
  return {
    withLock: (fn) =>
      client.transaction(async (tx) => {
        const [row] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
          CANARY_LOCK_KEY,
        ]);
        return row?.locked ? { value: await fn() } : null;
      }),
  };
}

export async function createCanaryLock(client: SqlClient): Promise<CanaryLock> {
  return (await ownedByThisProcess(client)) ? processLock() : advisoryLock(client);
}
