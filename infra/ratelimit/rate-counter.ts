// Fixed-window request counters, shared by every instance that uses the same backend: the
// request rate limits (per API key, per tenant) count here. Three backends: PostgreSQL (a row
// per key, aos_rate_limits, when several instances share a database), Redis (AOS_REDIS_URL: a
// key per limited key, INCR and PEXPIRE in one script) and this process's memory (PGlite, one
// process). One increment counts a request against every key it is limited by (its API key and
// its tenant) in one statement or script, and answers each key's count in its current window,
// this request included, and how long until that window ends.
import type { Redis } from 'ioredis';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';

export interface WindowCount {
  current: number;
  ttlMs: number;
}

export interface RateCounter {
  readonly backend: 'postgres' | 'redis' | 'memory';
  /** Counts one request against each of `keys` (distinct); answers their windows in that order. */
  incr(keys: readonly string[], windowMs: number): Promise<WindowCount[]>;
  close(): Promise<void>;
}

export function memoryRateCounter(now: () => number = Date.now): RateCounter {
  const windows = new Map<string, { count: number; resetsAt: number }>();
  return {
    backend: 'memory',
    async incr(keys, windowMs) {
      const at = now();
      return keys.map((key) => {
        let window = windows.get(key);
        if (!window || window.resetsAt <= at) {
          // Forget ended windows now and then, so idle keys do not pile up.
          if (windows.size > 10_000) for (const [k, w] of windows) if (w.resetsAt <= at) windows.delete(k);
          window = { count: 0, resetsAt: at + windowMs };
          windows.set(key, window);
        }
        window.count += 1;
        return { current: window.count, ttlMs: window.resetsAt - at };
      });
    },
    async close() {},
  };
}

export function sqlRateCounter(sql: Pick<SqlExecutor, 'query'>): RateCounter {
  // Ended windows are deleted once a minute (any instance may; it is idempotent).
  const sweep = setInterval(() => {
    sql.query(`DELETE FROM aos_rate_limits WHERE resets_at < now() - interval '1 minute'`).catch(() => {});
  }, 60_000);
  sweep.unref();
  return {
    backend: 'postgres',
    incr: coalescedIncrements(sql),
    async close() {
      clearInterval(sweep);
    },
  };
}

interface Asked {
  keys: readonly string[];
  windowMs: number;
  resolve: (windows: WindowCount[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Increments asked while a statement is out go together in the next one: under load a
 * statement counts many requests, not one (and a tenant's row is locked once per statement).
 * Still exact: a key asked n times in a statement moves by n, and its askers get the counts
 * in between in the order they asked, as n statements one after another would have given.
 * (A key's window is its first asker's; every caller gives the same.)
 */
function coalescedIncrements(sql: Pick<SqlExecutor, 'query'>): RateCounter['incr'] {
  let waiting: Asked[] = [];
  let busy = false;

  async function send(batch: Asked[]) {
    const amounts = new Map<string, { n: number; windowMs: number }>();
    for (const { keys, windowMs } of batch)
      for (const key of keys) {
        const amount = amounts.get(key);
        if (amount) amount.n++;
        else amounts.set(key, { n: 1, windowMs });
      }
    const keys = [...amounts.keys()];
    // Rows are locked in key order, the same in every statement, so two never wait on each other.
    const rows = await sql.query<{ key: string; count: number; ttl: number }>(
      `INSERT INTO aos_rate_limits AS r (key, count, resets_at)
       SELECT key, n, now() + window_ms * interval '1 millisecond'
         FROM unnest($1::text[], $2::int[], $3::float8[]) AS k(key, n, window_ms) ORDER BY key
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN r.resets_at <= now() THEN EXCLUDED.count ELSE r.count + EXCLUDED.count END,
         resets_at = CASE WHEN r.resets_at <= now() THEN EXCLUDED.resets_at ELSE r.resets_at END
       RETURNING key, count, GREATEST(0, ceil(extract(epoch FROM r.resets_at - now()) * 1000))::int AS ttl`,
      [keys, keys.map((key) => amounts.get(key)!.n), keys.map((key) => amounts.get(key)!.windowMs)],
    );
    // Each key's count before this statement; every asker takes the next one.
    const counted = new Map(
      rows.map((row) => [row.key, { before: row.count - amounts.get(row.key)!.n, ttlMs: row.ttl }]),
    );
    for (const asked of batch)
      asked.resolve(
        asked.keys.map((key) => {
          const window = counted.get(key)!;
          window.before++;
          return { current: window.before, ttlMs: window.ttlMs };
        }),
      );
  }

  function next() {
    const batch = waiting;
    waiting = [];
    busy = batch.length > 0;
    if (!busy) return;
    send(batch)
      .catch((error) => {
        for (const asked of batch) asked.reject(error);
      })
      .finally(next);
  }

  return (keys, windowMs) =>
    new Promise((resolve, reject) => {
      waiting.push({ keys, windowMs, resolve, reject });
      if (!busy) next();
    });
}

const INCR_SCRIPT = `
local answers = {}
for i, key in ipairs(KEYS) do
  local current = redis.call('INCR', key)
  if current == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, ARGV[1]); ttl = tonumber(ARGV[1]) end
  answers[2 * i - 1] = current
  answers[2 * i] = ttl
end
return answers`;

export function redisRateCounter(redis: Redis, prefix = 'aos:rate:'): RateCounter {
  return {
    backend: 'redis',
    async incr(keys, windowMs) {
      const answers = (await redis.eval(
        INCR_SCRIPT,
        keys.length,
        ...keys.map((key) => `${prefix}${key}`),
        windowMs,
      )) as number[];
      return keys.map((_, i) => ({ current: answers[2 * i]!, ttlMs: answers[2 * i + 1]! }));
    },
    async close() {
      await redis.quit().catch(() => {});
    },
  };
}
