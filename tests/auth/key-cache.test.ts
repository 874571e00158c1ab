// Authenticated keys are answered from memory (AOS_API_KEY_CACHE_MS), through the whole app:
// a key revoked through this instance stops at once; one revoked through another instance on
// the same PostgreSQL stops when that instance's NOTIFY arrives, long before the cache's TTL.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { SYSTEM_KEY, startTestApp, type TestApp } from '../support/app.ts';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';

const apps: TestApp[] = [];
let dropSchema = async () => {};
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
  await dropSchema();
  dropSchema = async () => {};
});

async function keyIdOf(app: TestApp, tenant: string): Promise<string> {
  const listed = await app.request('GET', `/v1/admin/keys?tenant=${tenant}`, { key: SYSTEM_KEY });
  return listed.body.items[0].keyId as string;
}

for (const store of ['pglite', 'postgres'] as const) {
  describe.runIf(store === 'pglite' || (await postgresReachable()))(`key cache (${store})`, () => {
    it('refuses a key at once once it is revoked through this instance, though it was cached', async () => {
      const app = await startTestApp(store, { AOS_EXECUTOR: 'off', AOS_API_KEY_CACHE_MS: '60000' });
      apps.push(app);
      const tenant = `t-${randomUUID().slice(0, 8)}`;
      const key = await app.keyFor(tenant, 'viewer');
      expect((await app.request('GET', '/v1/whoami', { key })).status).toBe(200);
      const revoked = await app.request('DELETE', `/v1/admin/keys/${await keyIdOf(app, tenant)}`, {
        key: SYSTEM_KEY,
      });
      expect(revoked.status).toBe(200);
      const after = await app.request('GET', '/v1/whoami', { key });
      expect(after.status).toBe(401);
      expect(after.body.error.code).toBe('UNAUTHENTICATED');
    });
  });
}

describe.runIf(await postgresReachable())('key cache across instances (postgres)', () => {
  it('refuses a key revoked through another instance when its NOTIFY arrives, long before the TTL', async () => {
    const { schema, drop } = await createTestSchema();
    dropSchema = drop;
    const open = (cacheMs: string) =>
      startTestApp(
        'postgres',
        { AOS_EXECUTOR: 'off', AOS_API_KEY_CACHE_MS: cacheMs },
        { client: createPostgresClient({ connectionString: databaseUrl, schema, maxConnections: 4 }) },
      );
    const revoking = await open('60000');
    const listening = await open('60000');
    apps.push(revoking, listening);
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const key = await revoking.keyFor(tenant, 'viewer');
    expect((await listening.request('GET', '/v1/whoami', { key })).status).toBe(200);
    await revoking.request('DELETE', `/v1/admin/keys/${await keyIdOf(revoking, tenant)}`, {
      key: SYSTEM_KEY,
    });
    // The TTL is a minute: only the NOTIFY can make it stop this soon.
    await expect
      .poll(async () => (await listening.request('GET', '/v1/whoami', { key })).status, {
        timeout: 2_000,
        interval: 25,
      })
      .toBe(401);
  }, 30_000);
});
