// Limits: a body over AOS_MAX_EVENT_BYTES is a 413 and writes nothing; a key over
// AOS_RATE_LIMIT_PER_MINUTE gets 429s while other keys go on; both in the one error shape.

import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authPlugin } from '../../api/auth/plugin.ts';
import { errorHandling } from '../../api/errors.ts';
import type { ApiKeyStore } from '../../infra/auth/api-key-store.ts';
import { ConfigError, loadConfig } from '../../infra/config.ts';
import type { TestApp } from '../support/app.ts';
import { startTestApp } from '../support/app.ts';
import { countEvents } from '../support/count-events.ts';
import { postgresReachable } from '../support/postgres.ts';

const errorShape = {
  error: { code: expect.any(String), message: expect.any(String) },
};

const plan = (prompt: string) => ({
  agentId: 'limited',
  plan: { steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt } }] },
  budget: { maxCostMicros: 1_000_000 },
});

describe('AOS_RATE_LIMIT_PER_MINUTE', () => {
  it('defaults to 600 and refuses what is not a positive whole number, naming it', () => {
    expect(loadConfig({}).AOS_RATE_LIMIT_PER_MINUTE).toBe(600);
    expect(loadConfig({ AOS_RATE_LIMIT_PER_MINUTE: '20' }).AOS_RATE_LIMIT_PER_MINUTE).toBe(20);
    for (const value of ['lots', '0', '1.5', '-3']) {
      expect(() => loadConfig({ AOS_RATE_LIMIT_PER_MINUTE: value })).toThrow(ConfigError);
      expect(() => loadConfig({ AOS_RATE_LIMIT_PER_MINUTE: value })).toThrow(
        /AOS_RATE_LIMIT_PER_MINUTE: must/,
      );
    }
  });
});

const stores = ['pglite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const;

for (const storeName of stores) {
  describe(`limits on ${storeName}`, () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp(storeName, {
        AOS_RATE_LIMIT_PER_MINUTE: '5',
        AOS_AUTH_FAILURES_PER_MINUTE: '3',
        AOS_EXECUTOR: 'off',
      });
    });
    afterAll(() => app.stop());

    it('answers 413 for a 2 MB body, in the one error shape, and writes nothing', async () => {
      const key = await app.keyFor('big', 'operator');
      const before = await countEvents(app.store);
      const huge = plan('x'.repeat(2 * 1024 * 1024));
      for (const url of ['/v1/runs', '/v1/simulate']) {
        const response = await app.request('POST', url, { key, body: huge });
        expect(response.status).toBe(413);
        expect(response.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
        expect(response.body).toMatchObject(errorShape);
      }
      // Declared small, sent large (chunked, no content-length) is refused the same way.
      const streamed = await app.server.inject({
        method: 'POST',
        url: '/v1/runs',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'transfer-encoding': 'chunked',
        },
        payload: JSON.stringify(huge),
      });
      expect(streamed.statusCode).toBe(413);
      expect(await countEvents(app.store)).toBe(before);
      // Just under the limit still gets through to validation.
      const fits = await app.request('POST', '/v1/runs', { key, body: plan('y'.repeat(1000)) });
      expect(fits.status).toBe(202);
    });

    it('answers 429 once one key has used its minute, while another key still passes', async () => {
      const busy = await app.keyFor('busy', 'viewer');
      const calm = await app.keyFor('calm', 'viewer');
      for (let i = 0; i < 5; i++) {
        const response = await app.request('GET', '/v1/runs', { key: busy });
        expect(response.status).toBe(200);
        expect(Number(response.headers['x-ratelimit-remaining'])).toBe(4 - i);
      }
      const refused = await app.request('GET', '/v1/runs', { key: busy });
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ error: { code: 'RATE_LIMITED', details: { limit: 5 } } });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      // Any route counts against the same key.
      expect((await app.request('GET', '/v1/failures', { key: busy })).status).toBe(429);
      expect((await app.request('GET', '/v1/runs', { key: calm })).status).toBe(200);
      // Public health checks and scrapes are not held back by a busy key.
      expect((await app.request('GET', '/metrics')).status).toBe(200);
    });

    it('limits requests without a key per address, saying so, but never health, readiness or metrics', async () => {
      const remote = { remoteAddress: '192.0.2.10' };
      const get = (url: string) => app.server.inject({ method: 'GET', url, ...remote });
      for (let i = 0; i < 5; i++) expect((await get('/console/')).statusCode).not.toBe(429);
      const refused = await get('/console/');
      expect(refused.statusCode).toBe(429);
      expect(refused.json().error.message).toBe(
        'rate limit exceeded: at most 5 requests a minute per client address (requests without an API key)',
      );
      for (let i = 0; i < 10; i++) {
        expect((await get('/healthz')).statusCode).toBe(200);
        expect((await get('/readyz')).statusCode).toBe(200);
        expect((await get('/metrics')).statusCode).toBe(200);
      }
      const limitedKey = await app.keyFor('worded', 'viewer');
      for (let i = 0; i < 5; i++) await app.request('GET', '/v1/runs', { key: limitedKey });
      const byKey = await app.request('GET', '/v1/runs', { key: limitedKey });
      expect(byKey.body.error.message).toBe('rate limit exceeded: at most 5 requests a minute per API key');
    });

    it('refuses an address that keeps presenting unknown keys, whatever key it presents next', async () => {
      const good = await app.keyFor('guessed', 'viewer');
      const attempt = (key: string, remoteAddress: string) =>
        app.server.inject({
          method: 'GET',
          url: '/v1/runs',
          remoteAddress,
          headers: { authorization: `Bearer ${key}` },
        });
      for (let i = 0; i < 3; i++) {
        expect((await attempt(`aos_wrong_${i}_${'0'.repeat(40)}`, '192.0.2.20')).statusCode).toBe(401);
      }
      const refused = await attempt(`aos_wrong_x_${'0'.repeat(40)}`, '192.0.2.20');
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({
        error: {
          code: 'RATE_LIMITED',
          message: 'too many failed authentications from this client address: at most 3 a minute',
          details: { limit: 3 },
        },
      });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      // The address is refused whatever key it presents; other addresses are not.
      expect((await attempt(good, '192.0.2.20')).statusCode).toBe(429);
      expect((await attempt(good, '192.0.2.21')).statusCode).toBe(200);
    });
  });
}

describe('failed authentications', () => {
  it('are refused before the key lookup once an address has used its minute', async () => {
    let lookups = 0;
    const keys = {
      authenticate: async () => {
        lookups++;
        return null;
      },
    } as unknown as ApiKeyStore;
    const app = Fastify();
    errorHandling(app);
    await app.register(authPlugin, { keys, failuresPerMinute: 2 });
    app.get('/v1/x', async () => ({}));
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const response = await app.inject({
        method: 'GET',
        url: '/v1/x',
        headers: { authorization: 'Bearer nope' },
      });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([401, 401, 429, 429, 429]);
    expect(lookups).toBe(2);
    await app.close();
  });
});
