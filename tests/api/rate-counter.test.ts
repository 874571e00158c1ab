// The rate counters count a request against its key and its tenant in one increment, exactly
// under concurrency, on every backend: this process's memory (PGlite's), SQL on PGlite and on
// PostgreSQL (aos_rate_limits), and Redis when reachable.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import { rateLimitMigrations } from '../../infra/migrations.ts';
import {
  memoryRateCounter,
  type RateCounter,
  redisRateCounter,
  sqlRateCounter,
} from '../../infra/ratelimit/rate-counter.ts';
import { migrate } from '../../infra/store/migrate.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createTestPGliteClient } from '../support/pglite.ts';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';
import { redisReachable, redisUrl } from '../support/redis.ts';

async function onSql(open: () => Promise<{ client: SqlClient; done: () => Promise<void> }>) {
  const { client, done } = await open();
  await migrate(client, [rateLimitMigrations]);
  const counter = sqlRateCounter(client);
  const closeAll = async () => {
    await counter.close();
    await done();
  };
  return { counter, done: closeAll };
}

const backends: {
  name: string;
  available: () => Promise<boolean>;
  open: () => Promise<{ counter: RateCounter; done: () => Promise<void> }>;
}[] = [
  {
    name: 'memory',
    available: async () => true,
    open: async () => ({ counter: memoryRateCounter(), done: async () => {} }),
  },
  {
    name: 'sql on pglite',
    available: async () => true,
    open: () =>
      onSql(async () => {
        const client = await createTestPGliteClient();
        return { client, done: () => client.close() };
      }),
  },
  {
    name: 'sql on postgres',
    available: postgresReachable,
    open: () =>
      onSql(async () => {
        const { schema, drop } = await createTestSchema();
        const client = createPostgresClient({ connectionString: databaseUrl, schema, maxConnections: 8 });
        const closeAll = async () => {
          await client.close();
          await drop();
        };
        return { client, done: closeAll };
      }),
  },
  {
    name: 'redis',
    available: redisReachable,
    open: async () => {
      const counter = redisRateCounter(new Redis(redisUrl), `aos:test:${randomUUID()}:`);
      return { counter, done: () => counter.close() };
    },
  },
];

for (const backend of backends) {
  describe.runIf(await backend.available())(`rate counter (${backend.name})`, () => {
    it('counts each key of an increment once, exactly under concurrency, answering in the order asked', async () => {
      const { counter, done } = await backend.open();
      try {
        // Two keys of one tenant, 40 requests each at once: every count taken exactly once.
        const answers = await Promise.all(
          Array.from({ length: 80 }, (_, i) => counter.incr([`key:${i % 2}`, 'tenant:acme'], 60_000)),
        );
        const counts = (at: number, of: (i: number) => boolean) =>
          answers
            .filter((_, i) => of(i))
            .map((windows) => windows[at]!.current)
            .sort((a, b) => a - b);
        const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
        expect(counts(1, () => true)).toEqual(upTo(80));
        expect(counts(0, (i) => i % 2 === 0)).toEqual(upTo(40));
        expect(counts(0, (i) => i % 2 === 1)).toEqual(upTo(40));
        for (const windows of answers) {
          for (const window of windows) expect(window.ttlMs).toBeGreaterThan(50_000);
        }
        // The order of the answers is the order of the keys, whatever order they are stored in.
        const [tenant, key] = await counter.incr(['tenant:acme', 'key:0'], 60_000);
        expect([tenant!.current, key!.current]).toEqual([81, 41]);
      } finally {
        await done();
      }
    });

    it('starts a key again once its window has ended', async () => {
      const { counter, done } = await backend.open();
      try {
        expect((await counter.incr(['key:short'], 200))[0]!.current).toBe(1);
        expect((await counter.incr(['key:short'], 200))[0]!.current).toBe(2);
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        expect((await counter.incr(['key:short'], 200))[0]!.current).toBe(1);
      } finally {
        await done();
      }
    });
  });
}

describe('the SQL rate counter', () => {
  it('sends the increments asked while one is out as one statement, each answered in the order asked', async () => {
    const client = await createTestPGliteClient();
    try {
      await migrate(client, [rateLimitMigrations]);
      let statements = 0;
      const counter = sqlRateCounter({
        query: (sql, params) => {
          if (sql.includes('INSERT INTO aos_rate_limits')) statements++;
          return client.query(sql, params);
        },
      });
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => counter.incr(['key:a', 'tenant:t'], 60_000)),
      );
      // The first alone; the 49 asked while it was out, together.
      expect(statements).toBe(2);
      const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
      expect(answers.map((windows) => windows[0]!.current)).toEqual(upTo(50));
      expect(answers.map((windows) => windows[1]!.current)).toEqual(upTo(50));
      await counter.close();
    } finally {
      await client.close();
    }
  });
});
