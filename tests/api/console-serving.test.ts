// What the web console needs from the server: its static files under /console/ (no key, no
// tenant data in them), and GET /v1/whoami to learn the signed-in key's tenant and role.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleRoutes } from '../../api/routes/console.ts';
import { SYSTEM_KEY, startTestApp, type TestApp } from '../support/app.ts';

describe('the console on the server', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('pglite', { AOS_EXECUTOR: 'off' });
  });
  afterAll(() => app.stop());

  it('serves the built console without a key, /console redirecting to /console/', async () => {
    const bare = await app.request('GET', '/console');
    expect(bare.status).toBe(302);
    expect(bare.headers.location).toBe('/console/');
    const index = await app.request('GET', '/console/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.headers['cache-control']).toBe('no-cache');
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(index.body as string)?.[1];
    expect(script).toBeDefined();
    const asset = await app.request('GET', script!);
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toMatch(/immutable/);
    expect((await app.request('GET', '/console/nothing.js')).status).toBe(404);
  });

  it('says how to build the console when it is not built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'aos-console-'));
    const server = Fastify({ logger: false });
    try {
      await server.register(consoleRoutes, { root: empty });
      const response = await server.inject({ method: 'GET', url: '/console/' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ error: { code: 'CONSOLE_NOT_BUILT' } });
      expect(response.json().error.message).toMatch(/npm run build:console/);
    } finally {
      await server.close();
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("answers /v1/whoami with the key's tenant, role and permissions", async () => {
    const viewer = await app.keyFor('acme', 'viewer');
    const me = await app.request('GET', '/v1/whoami', { key: viewer });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      keyId: expect.any(String),
      tenantId: 'acme',
      role: 'viewer',
      permissions: ['read'],
    });
    const operator = await app.request('GET', '/v1/whoami', { key: await app.keyFor('globex', 'operator') });
    expect(operator.body).toMatchObject({
      tenantId: 'globex',
      permissions: ['read', 'submit', 'cancel', 'approve'],
    });
    expect((await app.request('GET', '/v1/whoami')).status).toBe(401);
    expect((await app.request('GET', '/v1/whoami', { key: 'aos_unknown' })).status).toBe(401);
    // A system key reads no tenant's data, so the console has nothing to show it.
    const system = await app.request('GET', '/v1/whoami', { key: SYSTEM_KEY });
    expect(system.status).toBe(403);
  });
});
