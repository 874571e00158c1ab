// Which counter the rate limits use: Redis when AOS_REDIS_URL is set, else the SQL store
// (PostgreSQL, shared by every instance on it; PGlite, one process, the same SQL).
import { Redis } from 'ioredis';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import type { Config } from '../config.ts';
import { type RateCounter, redisRateCounter, sqlRateCounter } from './rate-counter.ts';

export function rateCounterFor(config: Pick<Config, 'AOS_REDIS_URL'>, client: SqlClient): RateCounter {
  if (!config.AOS_REDIS_URL) return sqlRateCounter(client);
  // A Redis that does not answer within half a second lets the request through unlimited
  // (and logs), rather than holding every request behind it.
  return redisRateCounter(new Redis(config.AOS_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 500 }));
}
