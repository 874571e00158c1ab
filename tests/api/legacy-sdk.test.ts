// The older SDKs' machine-native routes, called exactly as their clients call them
// (../shared/AOS-REFERENCE.md, "The older SDK's machine-native surface"): X-AOS-Key, snake
// case, cents. On PGlite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = ['pglite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const;

for (const storeName of stores) {
  describe(`older SDK routes on ${storeName}`, () => {
    let app: TestApp;
    let key: string;
    const sdk = (method: 'GET' | 'POST', url: string, body?: unknown) =>
      app.request(method, url, { headers: { 'x-aos-key': key }, ...(body === undefined ? {} : { body }) });
    beforeAll(async () => {
      app = await startTestApp(storeName);
      key = await app.keyFor('oldco', 'operator');
    });
    afterAll(() => app.stop());

    it('authenticates with X-AOS-Key, and refuses an unknown one with 401', async () => {
      expect((await sdk('GET', '/v1/whoami')).status).toBe(200);
      const unknown = await app.request('GET', '/api/v1/runtime/skills', {
        headers: { 'x-aos-key': 'nope' },
      });
      expect(unknown.status).toBe(401);
      expect(unknown.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('simulates a plan of [{skill, params}] with costs in cents rounded up', async () => {
      const answer = await sdk('POST', '/api/v1/runtime/simulate', {
        plan: [
          { skill: 'llm_invoke', params: { model: 'gpt-4o', prompt: 'Summarise the news', maxTokens: 1000 } },
          { skill: 'json_transform', params: { expression: 'a', data: { a: 1 } } },
        ],
        budget_cents: 100,
        agent_id: 'agent-1',
        tenant_id: 'someone-else',
      });
      expect(answer.status).toBe(200);
      // gpt-4o: 5 input tokens at 2.5 $/M and 1000 output tokens at 10 $/M = 10,013 micros.
      expect(answer.body).toMatchObject({ feasible: true, estimated_cost_cents: 2 });
      expect(answer.body.steps).toEqual([
        { index: 0, skill: 'llm_invoke', estimated_cost_cents: 2, feasible: true },
        { index: 1, skill: 'json_transform', estimated_cost_cents: 0, feasible: true },
      ]);
      expect(answer.body.reason).toBeUndefined();
    });

    it('says why a plan is not feasible: over budget, a denied host, an unknown skill', async () => {
      const answer = await sdk('POST', '/api/v1/runtime/simulate', {
        plan: [
          { skill: 'http_call', params: { url: 'http://169.254.169.254/' } },
          { skill: 'no_such_skill', params: {} },
          { skill: 'llm_invoke', params: { model: 'gpt-4o', prompt: 'x', maxTokens: 100000 } },
        ],
        budget_cents: 1,
      });
      expect(answer.status).toBe(200);
      expect(answer.body.feasible).toBe(false);
      expect(answer.body.reason).toMatch(/169\.254\.169\.254/);
      expect(answer.body.reason).toMatch(/unknown skill no_such_skill/);
      expect(answer.body.reason).toMatch(/exceeds the budget/);
      expect(answer.body.steps.map((step: { feasible: boolean }) => step.feasible)).toEqual([
        false,
        false,
        true,
      ]);
    });

    it('refuses a malformed body in the one error shape, naming the field', async () => {
      const answer = await sdk('POST', '/api/v1/runtime/simulate', {
        plan: [{ params: {} }],
        budget_cents: 5,
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('INVALID_INPUT');
      expect(answer.body.error.details.issues[0].path).toEqual(['plan', 0, 'skill']);
    });

    it('lists and describes skills in the older shape', async () => {
      const listed = await sdk('GET', '/api/v1/runtime/skills');
      expect(listed.status).toBe(200);
      expect(listed.body.count).toBe(6);
      expect(listed.body.skills).toContainEqual({
        id: 'json_transform',
        name: 'json_transform',
        description: 'Evaluate a JMESPath expression against JSON data.',
        version: '1.0.0',
      });
      const llm = await sdk('GET', '/api/v1/runtime/skills/llm_invoke');
      expect(llm.status).toBe(200);
      expect(llm.body).toMatchObject({ id: 'llm_invoke', version: '1.0.0' });
      // The fallback model's output price, 5 $/M tokens = 500 cents; a minimal call 2,560 ≥ 1 cent.
      expect(llm.body.cost_model).toEqual({
        fixed_cents: 1,
        variable_cents_per_unit: 500,
        unit: '1M output tokens (unlisted model)',
      });
      expect(llm.body.failure_modes).toContainEqual(
        expect.objectContaining({ code: 'ERR_HTTP_429_RATE_LIMITED', retryable: true }),
      );
      expect(llm.body.params_schema.required).toEqual(['model']);
      expect(llm.body.return_schema.properties.text).toEqual({ type: 'string' });
      expect((await sdk('GET', '/api/v1/runtime/skills/nope')).status).toBe(404);
    });

    it('answers capabilities and a resource contract', async () => {
      const capabilities = await sdk('GET', '/api/v1/runtime/capabilities?agent_id=agent-1&tenant_id=oldco');
      expect(capabilities.status).toBe(200);
      expect(capabilities.body).toMatchObject({
        skills_available: [
          'agent_invoke',
          'agent_spawn',
          'http_call',
          'json_transform',
          'llm_invoke',
          'webhook_send',
        ],
        budget_remaining_cents: 10_000,
        permissions: ['read', 'submit', 'cancel', 'approve'],
      });
      expect(capabilities.body.rate_limits[0]).toMatchObject({ resource: 'requests_per_minute', limit: 600 });
      expect(Date.parse(capabilities.body.rate_limits[0].resets_at)).toBeGreaterThan(Date.now() - 1000);

      const contract = await sdk('GET', '/api/v1/runtime/resource-contract/http_call');
      expect(contract.status).toBe(200);
      expect(contract.body).toMatchObject({
        resource_id: 'http_call',
        budget_cents: 10_000,
        max_concurrency: 4,
      });
      expect((await sdk('GET', '/api/v1/runtime/resource-contract/nope')).status).toBe(404);
    });
  });
}
