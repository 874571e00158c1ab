// What a workload costs the database: commits and rows from pg_stat_database, before and
// after. Backends publish their counters when idle (at most every second), so the reading
// after waits for them; anything else in the same database counts too — the bench databases
// hold nothing else.
import pg from 'pg';

export interface DbCounters {
  commits: number;
  inserted: number;
  updated: number;
}

async function read(url: string): Promise<DbCounters> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET stats_fetch_consistency = none');
    const { rows } = await client.query<{ c: string; i: string; u: string }>(
      `SELECT xact_commit::text AS c, tup_inserted::text AS i, tup_updated::text AS u
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    return { commits: Number(rows[0]!.c), inserted: Number(rows[0]!.i), updated: Number(rows[0]!.u) };
  } finally {
    await client.end();
  }
}

/** The counters' growth over `work`, per `units` (runs); this module's own two reads excluded. */
export async function perUnit(url: string, units: number, work: () => Promise<void>): Promise<DbCounters> {
  const before = await read(url);
  await work();
  // Idle backends flush their statistics within about a second.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const after = await read(url);
  return {
    commits: (after.commits - before.commits - 1) / units,
    inserted: (after.inserted - before.inserted) / units,
    updated: (after.updated - before.updated) / units,
  };
}

/** Commits per second in `url`'s database while nothing is asked of it (idle pollers). */
export async function idleCommitsPerSecond(url: string, seconds: number): Promise<number> {
  const { commits } = await perUnit(
    url,
    1,
    () => new Promise((resolve) => setTimeout(resolve, seconds * 1000)),
  );
  return commits / (seconds + 1.5);
}
