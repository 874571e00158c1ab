// The auth plugin and the key routes through app.inject, on PGlite and PostgreSQL.
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyRoutes } from '../../api/auth/key-routes.ts';
import { actions, can, rolesThatCan } from '../../api/auth/permissions.ts';
import { authPlugin, principalOf } from '../../api/auth/plugin.ts';
import { useZodSchemas } from '../../api/contract-route.ts';
import { errorHandling } from '../../api/errors.ts';
import { actorRoles } from '../../domain/actor.ts';
import { type ApiKeyStore, createApiKeyStore } from '../../infra/auth/api-key-store.ts';
import { ensureBootstrapKey } from '../../infra/auth/bootstrap.ts';
import { type SqlHarness, sqlAdapters } from './sql.ts';

const BOOTSTRAP = 'plugin-test-system-key-0123456789abcdef';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function buildApp(keys: ApiKeyStore): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  useZodSchemas(app);
  errorHandling(app);
  await app.register(authPlugin, { keys });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/open', { config: { public: true } }, async (request) => ({ principal: request.principal }));
  await app.register(keyRoutes, { keys });
  // Routes registered in a child context, as the run routes are: the root hook still applies.
  await app.register(async (child) => {
    child.get('/v1/whoami', { config: { permission: 'read' } }, async (request) => principalOf(request));
    child.post('/v1/things', { config: { permission: 'submit' } }, async () => ({ ok: true }));
    child.get('/v1/exports', { config: { permission: 'export' } }, async () => ({ ok: true }));
    child.get('/v1/public-but-asks', { config: { public: true } }, async (request) => principalOf(request));
  });
  await app.ready();
  return app;
}

describe('permissions', () => {
  it('gives each role what ARCHITECTURE.md says, and system nothing but keys and operations', () => {
    const table = Object.fromEntries(actorRoles.map((role) => [role, actions.filter((a) => can(role, a))]));
    expect(table).toEqual({
      admin: [
        'read',
        'submit',
        'cancel',
        'approve',
        'export',
        'manage_policy',
        'manage_webhooks',
        'emergency_stop',
      ],
      operator: ['read', 'submit', 'cancel', 'approve'],
      auditor: ['read', 'export'],
      viewer: ['read'],
      system: ['manage_keys', 'operate', 'emergency_stop'],
    });
    expect(rolesThatCan('emergency_stop')).toEqual(['admin', 'system']);
    expect(rolesThatCan('manage_keys')).toEqual(['system']);
    expect(rolesThatCan('manage_policy')).toEqual(['admin']);
    expect(can('nobody' as never, 'read')).toBe(false);
  });
});

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`auth plugin and key routes: ${adapter.name}`, () => {
    let harness: SqlHarness;
    let keys: ApiKeyStore;
    let app: FastifyInstance;
    beforeAll(async () => {
      harness = await adapter.open();
      keys = createApiKeyStore(harness.client);
      const log = { info: () => {}, warn: () => {} };
      await ensureBootstrapKey({
        client: harness.client,
        dataDir: '/nonexistent',
        bootstrapKey: BOOTSTRAP,
        log,
      });
      app = await buildApp(keys);
    });
    afterAll(async () => {
      await app?.close();
      await harness.cleanup();
    });

    it('answers 401 UNAUTHENTICATED without a key, with a malformed header and with a bad key', async () => {
      for (const headers of [
        {},
        { authorization: '' },
        { authorization: 'Basic dXNlcjpwYXNz' },
        { authorization: 'Bearer' },
        { authorization: 'Bearer a b' },
        bearer('aos_not-a-real-key-at-all'),
        bearer(`${BOOTSTRAP}x`),
      ]) {
        const response = await app.inject({ method: 'GET', url: '/v1/whoami', headers });
        expect(response.statusCode, JSON.stringify(headers)).toBe(401);
        expect(response.json()).toMatchObject({
          error: { code: 'UNAUTHENTICATED', message: expect.any(String) },
        });
        expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="aos"/);
      }
      // Unauthenticated requests are refused before their body is even looked at.
      const post = await app.inject({
        method: 'POST',
        url: '/v1/admin/keys',
        payload: { tenant: 'x', role: 'admin' },
      });
      expect(post.statusCode).toBe(401);
    });

    it('leaves public routes and unknown URLs open', async () => {
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      const open = await app.inject({ method: 'GET', url: '/open' });
      expect(open.json()).toEqual({ principal: null });
      const missing = await app.inject({ method: 'GET', url: '/v1/nothing' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
      // A public route that nonetheless asks for a permission gets a 401, not a crash.
      expect((await app.inject({ method: 'GET', url: '/v1/public-but-asks' })).statusCode).toBe(401);
    });

    it('lets the system key create an operator key that then authenticates, shown once', async () => {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/admin/keys',
        headers: bearer(BOOTSTRAP),
        payload: { tenant: 'acme', role: 'operator', label: 'deploy bot' },
      });
      expect(created.statusCode).toBe(201);
      expect(created.headers['cache-control']).toBe('no-store');
      const body = created.json();
      expect(body).toMatchObject({ tenant: 'acme', role: 'operator', label: 'deploy bot', revokedAt: null });
      expect(body.key).toMatch(/^aos_/);
      expect(body.keyId).toMatch(/^key_/);

      const whoami = await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(body.key) });
      expect(whoami.statusCode).toBe(200);
      expect(whoami.json()).toEqual({
        keyId: body.keyId,
        tenantId: 'acme',
        role: 'operator',
        actor: { id: body.keyId, role: 'operator' },
      });
      const submit = await app.inject({ method: 'POST', url: '/v1/things', headers: bearer(body.key) });
      expect(submit.statusCode).toBe(200);

      const listed = await app.inject({ method: 'GET', url: '/v1/admin/keys', headers: bearer(BOOTSTRAP) });
      expect(listed.statusCode).toBe(200);
      const items = listed.json().items as Array<Record<string, unknown>>;
      expect(items.find((k) => k.keyId === body.keyId)).toMatchObject({ tenant: 'acme', role: 'operator' });
      expect(listed.body).not.toContain(body.key);
      expect(listed.body).not.toContain(BOOTSTRAP);
      expect(items.every((k) => !('key' in k))).toBe(true);
      const filtered = await app.inject({
        method: 'GET',
        url: '/v1/admin/keys?tenant=acme',
        headers: bearer(BOOTSTRAP),
      });
      expect((filtered.json().items as Array<{ tenant: string }>).every((k) => k.tenant === 'acme')).toBe(
        true,
      );
    });

    it('answers 403 FORBIDDEN when the role is not enough', async () => {
      const viewer = (await keys.create({ tenantId: 'acme', role: 'viewer' })).key;
      const admin = (await keys.create({ tenantId: 'acme', role: 'admin' })).key;
      for (const [key, message] of [
        [viewer, 'a viewer key may not manage keys'],
        [admin, 'an admin key may not manage keys'],
      ] as const) {
        const response = await app.inject({
          method: 'POST',
          url: '/v1/admin/keys',
          headers: bearer(key),
          payload: { tenant: 'acme', role: 'admin' },
        });
        expect(response.statusCode).toBe(403);
        expect(response.json()).toMatchObject({ error: { code: 'FORBIDDEN', message } });
        expect(
          (await app.inject({ method: 'GET', url: '/v1/admin/keys', headers: bearer(key) })).statusCode,
        ).toBe(403);
      }
      expect(
        (await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(viewer) })).statusCode,
      ).toBe(200);
      expect(
        (await app.inject({ method: 'POST', url: '/v1/things', headers: bearer(viewer) })).statusCode,
      ).toBe(403);
      expect(
        (await app.inject({ method: 'GET', url: '/v1/exports', headers: bearer(viewer) })).statusCode,
      ).toBe(403);
      // The system key manages keys and nothing else: it cannot read a tenant's runs.
      const system = await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(BOOTSTRAP) });
      expect(system.statusCode).toBe(403);
      expect(system.json()).toMatchObject({
        error: { code: 'FORBIDDEN', message: 'a system key may not read', details: { permission: 'read' } },
      });
    });

    it('refuses bad bodies with 400 INVALID_INPUT and the issue paths, creating nothing', async () => {
      const before = (await keys.list()).length;
      const cases: Array<[unknown, string[]]> = [
        [{ tenant: '-acme', role: 'viewer' }, ['tenant']],
        [{ tenant: 'a'.repeat(65), role: 'viewer' }, ['tenant']],
        [{ tenant: 'acme', role: 'root' }, ['role']],
        [{ tenant: 'acme', role: 'system' }, ['role']],
        [{ tenant: 'system', role: 'admin' }, ['tenant']],
        [{ role: 'viewer' }, ['tenant']],
        [{ tenant: 'acme', role: 'viewer', extra: 1 }, []],
        [{ tenant: 'acme', role: 'viewer', label: 42 }, ['label']],
      ];
      for (const [payload, path] of cases) {
        const response = await app.inject({
          method: 'POST',
          url: '/v1/admin/keys',
          headers: bearer(BOOTSTRAP),
          payload: payload as object,
        });
        expect(response.statusCode, JSON.stringify(payload)).toBe(400);
        const { error } = response.json();
        expect(error.code).toBe('INVALID_INPUT');
        expect(error.details.issues.map((i: { path: string[] }) => i.path)).toContainEqual(path);
      }
      const systemRole = await app.inject({
        method: 'POST',
        url: '/v1/admin/keys',
        headers: bearer(BOOTSTRAP),
        payload: { tenant: 'acme', role: 'system' },
      });
      expect(systemRole.json().error.details.issues[0].message).toMatch(/system keys are not created/);
      const notJson = await app.inject({
        method: 'POST',
        url: '/v1/admin/keys',
        headers: { ...bearer(BOOTSTRAP), 'content-type': 'application/json' },
        payload: '{nope',
      });
      expect(notJson.statusCode).toBe(400);
      expect((await keys.list()).length).toBe(before);
    });

    it('revokes a key: it then gets 401; revoking an unknown key is a 404', async () => {
      const { record, key } = await keys.create({ tenantId: 'acme', role: 'operator' });
      expect((await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(key) })).statusCode).toBe(
        200,
      );
      const revoked = await app.inject({
        method: 'DELETE',
        url: `/v1/admin/keys/${record.keyId}`,
        headers: bearer(BOOTSTRAP),
      });
      expect(revoked.statusCode).toBe(200);
      expect(revoked.json()).toMatchObject({ keyId: record.keyId, revokedAt: expect.any(String) });
      const after = await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(key) });
      expect(after.statusCode).toBe(401);
      expect(after.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      const unknown = await app.inject({
        method: 'DELETE',
        url: '/v1/admin/keys/key_0000000000000000',
        headers: bearer(BOOTSTRAP),
      });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
      const byOperator = await app.inject({
        method: 'DELETE',
        url: `/v1/admin/keys/${record.keyId}`,
        headers: bearer((await keys.create({ tenantId: 'acme', role: 'operator' })).key),
      });
      expect(byOperator.statusCode).toBe(403);
    });
  });
}
