// Redis for tests: AOS_REDIS_URL's server (default 127.0.0.1:6379). When AOS_TEST_REQUIRE
// names redis, an unreachable server fails the run instead of skipping its tests.
import { Redis } from 'ioredis';
import { requiredServices } from './postgres.ts';

export const redisUrl = process.env.AOS_REDIS_URL ?? 'redis://127.0.0.1:6379';

let reachable: Promise<boolean> | undefined;

export function redisReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
      return true;
    } catch (error) {
      if (requiredServices.includes('redis')) {
        throw new Error(`AOS_TEST_REQUIRE includes redis but Redis at ${redisUrl} is unreachable: ${error}`);
      }
      console.warn(
        `Redis at ${redisUrl} unreachable: its tests do not run (set AOS_TEST_REQUIRE=redis to fail)`,
      );
      return false;
    } finally {
      redis.disconnect();
    }
  })();
  return reachable;
}
