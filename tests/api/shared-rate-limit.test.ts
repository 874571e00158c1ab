// The rate limits hold across instances: two apps on one PostgreSQL store share each API
// key's limit and each tenant's, counted in PostgreSQL, or in Redis with AOS_REDIS_URL; the
// current use shows in GET /v1/capabilities on either instance.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';
import { redisReachable, redisUrl } from '../support/redis.ts';

const backends: { name: string; env: Record<string, string>; available: boolean }[] = [
  { name: 'postgres', env: {}, available: await postgresReachable() },
  {
    name: 'redis',
    env: { AOS_REDIS_URL: redisUrl },
    available: (await postgresReachable()) && (await redisReachable()),
  },
];

for (const backend of backends) {
  describe.runIf(backend.available)(`rate limits shared by two instances (${backend.name})`, () => {
    const apps: TestApp[] = [];
    let dropSchema = async () => {};
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.stop();
      await dropSchema();
    });

    it('counts a key and a tenant once, whichever instance a request reaches', async () => {
      const { schema, drop } = await createTestSchema();
      dropSchema = drop;
      const env = {
        ...backend.env,
        AOS_RATE_LIMIT_PER_MINUTE: '10',
        AOS_TENANT_RATE_LIMIT_PER_MINUTE: '16',
        AOS_EXECUTOR: 'off',
      };
      for (let i = 0; i < 2; i++) {
        const client = createPostgresClient({ connectionString: databaseUrl, schema, maxConnections: 6 });
        apps.push(await startTestApp('postgres', env, { client }));
      }
      const [a, b] = apps as [TestApp, TestApp];
      const tenant = `t-${randomUUID().slice(0, 8)}`;
      const first = await a.keyFor(tenant, 'viewer');
      const second = await b.keyFor(tenant, 'viewer');
      const on = (n: number) => (n % 2 === 0 ? a : b);

      // Four requests spread over both instances, then the capabilities on either count five.
      for (let n = 0; n < 4; n++)
        expect((await on(n).request('GET', '/v1/whoami', { key: first })).status).toBe(200);
      const capabilities = await b.request('GET', '/v1/capabilities', { key: first });
      expect(capabilities.status).toBe(200);
      expect(capabilities.body.rateLimit).toMatchObject({ limit: 10, used: 5, remaining: 5, per: 'API key' });
      expect(capabilities.body.tenantRateLimit).toMatchObject({
        limit: 16,
        used: 5,
        remaining: 11,
        per: 'tenant',
      });

      // The key's limit (10 a minute) holds across both: the 11th is refused, on either.
      const statuses: number[] = [];
      for (let n = 5; n < 12; n++)
        statuses.push((await on(n).request('GET', '/v1/whoami', { key: first })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const refused = await a.request('GET', '/v1/whoami', { key: first });
      expect(refused.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { limited: 'per API key' } });

      // The tenant's (16) counts every request of its keys, those its key's limit refused too:
      // the first key's 13, then 3 of the second's; the 4th is refused.
      const tenantStatuses: number[] = [];
      for (let n = 0; n < 4; n++) {
        tenantStatuses.push((await on(n).request('GET', '/v1/whoami', { key: second })).status);
      }
      expect(tenantStatuses).toEqual([200, 200, 200, 429]);
      const tenantRefused = await b.request('GET', '/v1/whoami', { key: second });
      expect(tenantRefused.status).toBe(429);
      expect(tenantRefused.body.error).toMatchObject({
        code: 'RATE_LIMITED',
        details: { limited: 'per tenant' },
      });
      expect(tenantRefused.headers['retry-after']).toBeDefined();

      // Another tenant is not affected; probes are never limited.
      const other = await a.keyFor(`o-${randomUUID().slice(0, 8)}`, 'viewer');
      expect((await b.request('GET', '/v1/whoami', { key: other })).status).toBe(200);
      expect((await a.request('GET', '/readyz')).status).toBe(200);
    }, 60_000);
  });
}
