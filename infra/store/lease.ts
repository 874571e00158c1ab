// A named lease in the database (aos_leases): the way several instances on one store agree
// that exactly one of them does some work (publishes to Kafka, dispatches webhooks). The holder
// renews it every `ttlMs / 4`; the others try to take it as often, and get it once it has not
// been renewed for `ttlMs` (the holder died, or lost the database). Expiry is judged by the
// database's clock, so instances' clocks need not agree.
//
// A holder that cannot renew (the database is unreachable) stops counting itself the holder
// once `ttlMs` has passed since its last successful renewal by its own monotonic clock: by
// then another instance may hold it. So `held()` is safe to check before each unit of work;
// work that also writes to the database can fence itself with `holdsLease` in the same statement.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';

export interface LeaseOptions {
  name: string;
  /** Who asks; unique per process by default (host, pid and a random part). */
  holder?: string;
  /** How long a lease lives without renewal; the takeover time after a holder's death. */
  ttlMs?: number;
  /** Called when this process starts or stops holding the lease. */
  onChange?: (held: boolean) => void | Promise<void>;
  onError?: (error: unknown) => void;
}

export interface Lease {
  readonly name: string;
  readonly holder: string;
  held(): boolean;
  /** Stops renewing and gives the lease up at once, so a standby takes over without waiting. */
  release(): Promise<void>;
}

export const DEFAULT_LEASE_TTL_MS = 5_000;

export const newHolderId = () => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/** A SQL condition, for fencing a write: true while `$holderParam` holds lease `$nameParam`. */
export const holdsLease = (nameParam: string, holderParam: string) =>
  `EXISTS (SELECT 1 FROM aos_leases WHERE name = ${nameParam} AND holder = ${holderParam} AND expires_at > now())`;

/** Takes or renews the lease for `ttlMs`; true when `holder` holds it afterwards. */
export async function acquireLease(
  sql: Pick<SqlExecutor, 'query'>,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const rows = await sql.query(
    `INSERT INTO aos_leases (name, holder, acquired_at, expires_at)
     VALUES ($1, $2, now(), now() + $3 * interval '1 millisecond')
     ON CONFLICT (name) DO UPDATE SET
       holder = EXCLUDED.holder,
       expires_at = EXCLUDED.expires_at,
       acquired_at = CASE WHEN aos_leases.holder = EXCLUDED.holder THEN aos_leases.acquired_at ELSE now() END
     WHERE aos_leases.holder = EXCLUDED.holder OR aos_leases.expires_at <= now()
     RETURNING holder`,
    [name, holder, ttlMs],
  );
  return rows.length > 0;
}

export function startLease(sql: Pick<SqlExecutor, 'query'>, options: LeaseOptions): Lease {
  const holder = options.holder ?? newHolderId();
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const stopping = new AbortController();
  let held = false;
  // Monotonic time of the start of the last successful renewal: the lease is ours until
  // ttlMs after it at the latest, whatever the database says later.
  let renewedAt = 0;
  const stillOurs = () => held && performance.now() - renewedAt < ttlMs;

  const change = async (next: boolean) => {
    if (next === held) return;
    held = next;
    await options.onChange?.(next);
  };

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      const startedAt = performance.now();
      try {
        const ours = await acquireLease(sql, options.name, holder, ttlMs);
        if (ours) renewedAt = startedAt;
        await change(ours);
      } catch (error) {
        options.onError?.(error);
        if (!stillOurs()) await change(false);
      }
      await sleep(ttlMs / 4, undefined, { signal: stopping.signal }).catch(() => {});
    }
  })();

  return {
    name: options.name,
    holder,
    held: stillOurs,
    async release() {
      stopping.abort();
      await loop;
      const wasHeld = held;
      await change(false);
      if (wasHeld) {
        await sql
          .query('DELETE FROM aos_leases WHERE name = $1 AND holder = $2', [options.name, holder])
          .catch(() => {});
      }
    },
  };
}
