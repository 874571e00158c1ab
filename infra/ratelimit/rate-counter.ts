// Fixed-window request counters, shared by every instance that uses the same backend: the
// request rate limits (per API key, per tenant) count here. Three backends: PostgreSQL (a row
// per key, aos_rate_limits, when several instances share a database), Redis (AOS_REDIS_URL: a
// key per limited key, INCR and PEXPIRE in one script) and this process's memory (PGlite, one
// process). Each increment answers the count in the current window, this request included,
// and how long until the window ends.
import type { Redis } from 'ioredis';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';

export interface WindowCount {
  current: number;
  ttlMs: number;
}

export interface RateCounter {
  readonly backend: 'postgres' | 'redis' | 'memory';
  incr(key: string, windowMs: number): Promise<WindowCount>;
  close(): Promise<void>;
}

export function memoryRateCounter(now: () => number = Date.now): RateCounter {
  const windows = new Map<string, { count: number; resetsAt: number }>();
  return {
    backend: 'memory',
    async incr(key, windowMs) {
      const at = now();
      let window = windows.get(key);
      if (!window || window.resetsAt <= at) {
        // Forget ended windows now and then, so idle keys do not pile up.
        if (windows.size > 10_000) for (const [k, w] of windows) if (w.resetsAt <= at) windows.delete(k);
        window = { count: 0, resetsAt: at + windowMs };
        windows.set(key, window);
      }
      window.count += 1;
      return { current: window.count, ttlMs: window.resetsAt - at };
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
    async incr(key, windowMs) {
      const [row] = await sql.query<{ count: number; ttl: number }>(
        `INSERT INTO aos_rate_limits AS r (key, count, resets_at) VALUES ($1, 1, now() + $2 * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN r.resets_at <= now() THEN 1 ELSE r.count + 1 END,
           resets_at = CASE WHEN r.resets_at <= now() THEN EXCLUDED.resets_at ELSE r.resets_at END
         RETURNING count, GREATEST(0, ceil(extract(epoch FROM r.resets_at - now()) * 1000))::int AS ttl`,
        [key, windowMs],
      );
      return { current: row!.count, ttlMs: row!.ttl };
    },
    async close() {
      clearInterval(sweep);
    },
  };
}

const INCR_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {current, ttl}`;

export function redisRateCounter(redis: Redis, prefix = 'aos:rate:'): RateCounter {
  return {
    backend: 'redis',
    async incr(key, windowMs) {
      const [current, ttl] = (await redis.eval(INCR_SCRIPT, 1, `${prefix}${key}`, windowMs)) as [
        number,
        number,
      ];
      return { current, ttlMs: ttl };
    },
    async close() {
      await redis.quit().catch(() => {});
    },
  };
}
