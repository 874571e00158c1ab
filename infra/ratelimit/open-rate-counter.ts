// Which counter the rate limits use: Redis when AOS_REDIS_URL is set, else PostgreSQL (shared
// by every instance on it). PGlite belongs to one process, so its counts stay in that process's
// memory: two SQL writes per request on PGlite's one connection would share nothing.
import { Redis } from 'ioredis';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import type { Config } from '../config.ts';
import { ownedByThisProcess } from '../store/single-process.ts';
import { memoryRateCounter, type RateCounter, redisRateCounter, sqlRateCounter } from './rate-counter.ts';

export async function rateCounterFor(
  config: Pick<Config, 'AOS_REDIS_URL'>,
  client: SqlClient,
): Promise<RateCounter> {
  if (!config.AOS_REDIS_URL)
    return (await ownedByThisProcess(client)) ? memoryRateCounter() : sqlRateCounter(client);
  // A Redis that does not answer within half a second lets the request through unlimited
  // (and logs), rather than holding every request behind it.
  return redisRateCounter(new Redis(config.AOS_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 500 }));
}
