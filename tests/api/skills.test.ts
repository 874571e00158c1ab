// Skill contracts, capabilities, one policy evaluation for simulate and execution, and the
// checks made at submission — through the in-process app on PGlite and PostgreSQL.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setPolicy } from '../../commands/reference-data.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = ['pglite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const;

const budget = { maxCostMicros: 1_000_000 };

/** A local server that answers /slow/<ms> after that many milliseconds. */
const slow = createServer((req, res) => {
  const ms = Number(req.url?.split('/')[2] ?? 0);
  setTimeout(() => res.end('{}'), ms);
});
await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
const slowBase = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
afterAll(() => new Promise<void>((resolve) => slow.close(() => resolve())));

/** Nearest rank: the smallest recorded figure with at least fraction p of them at or below it. */
const nearestRank = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.ceil(p * values.length) - 1];
const metadataGet = { skill: 'http_call', input: { url: 'http://169.254.169.254/latest/meta-data/' } };

for (const storeName of stores) {
  describe(`skills and capabilities on ${storeName}`, () => {
    let app: TestApp;
    let operator: string;
    let viewer: string;
    beforeAll(async () => {
      app = await startTestApp(storeName);
      operator = await app.keyFor('acme', 'operator');
      viewer = await app.keyFor('acme', 'viewer');
    });
    afterAll(() => app.stop());

    it('lists the skills with their versions and tags', async () => {
      const listed = await app.request('GET', '/v1/skills', { key: viewer });
      expect(listed.status).toBe(200);
      expect(listed.body.count).toBe(6);
      expect(listed.body.skills.map((skill: { name: string }) => skill.name)).toEqual([
        'agent_invoke',
        'agent_spawn',
        'http_call',
        'json_transform',
        'llm_invoke',
        'webhook_send',
      ]);
      expect(listed.body.skills[3]).toMatchObject({ version: '1.0.0', versions: ['1.0.0'] });
      expect(listed.body.skills[3].tags).toContain('jmespath');
    });

    it('describes a skill from its own zod schemas, the error taxonomy and the price table', async () => {
      const described = await app.request('GET', '/v1/skills/json_transform', { key: viewer });
      expect(described.status).toBe(200);
      const contract = described.body;
      expect(contract.inputSchema).toMatchObject({ type: 'object', required: ['expression', 'data'] });
      expect(contract.outputSchema.required).toEqual(['result']);
      expect(contract.defaultRetry.maxAttempts).toBe(3);
      expect(contract.sideEffects.sideEffecting).toBe(false);
      expect(contract.errors).toContainEqual({
        code: 'INVALID_INPUT',
        category: 'VALIDATION',
        retryable: false,
        httpStatus: 400,
      });
      expect(contract.errors).toContainEqual({
        code: 'TIMEOUT',
        category: 'TRANSIENT',
        retryable: true,
        httpStatus: 504,
      });
      expect(contract.costModel).toMatchObject({ kind: 'free', estimateMicros: { v1: 0, v2: 0 } });
      expect(contract.latency).toMatchObject({ estimateMs: { v1: 10, v2: 10 }, observed: null });
      expect(contract.resources).toMatchObject({ timeoutMs: 30_000, rateLimit: { requestsPerMinute: 600 } });

      const llm = await app.request('GET', '/v1/skills/llm_invoke@1.0.0', { key: viewer });
      expect(llm.body.costModel.kind).toBe('tokens');
      expect(llm.body.costModel.modelPricesMicrosPerMillion.stub).toEqual({
        inputMicrosPerMillion: 100_000,
        outputMicrosPerMillion: 200_000,
        cachedInputMicrosPerMillion: 10_000,
      });
      expect(llm.body.latency.estimateMs.v2).toBe(500 + 10 * 256);
      const http = await app.request('GET', '/v1/skills/http_call@1', { key: viewer });
      expect(http.body.sideEffects.sideEffecting).toBe('depends_on_input');
      expect(http.body.errors.map((error: { code: string }) => error.code)).toContain('LOCAL_URL_FORBIDDEN');
    });

    it('answers 404 for an unknown skill or version, 400 naming a malformed name', async () => {
      expect((await app.request('GET', '/v1/skills/nope', { key: viewer })).status).toBe(404);
      const version = await app.request('GET', '/v1/skills/json_transform@9.9.9', { key: viewer });
      expect(version.status).toBe(404);
      expect(version.body.error.code).toBe('NOT_FOUND');
      const malformed = await app.request('GET', '/v1/skills/a%20b', { key: viewer });
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.details.issues[0].path).toEqual(['name']);
    });

    it('answers capabilities under the policy in force, with the budget day and the rate limit', async () => {
      const answer = await app.request('GET', '/v1/capabilities?agentId=agent-7', { key: operator });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        tenantId: 'acme',
        agentId: 'agent-7',
        agent: null,
        role: 'operator',
        policy: { version: 'aos-default-1' },
        budget: { limitMicros: 100_000_000 },
        runLimits: { defaultMaxSteps: 50, maxCostMicrosPerCall: null },
      });
      expect(answer.body.permissions).toContain('submit');
      const bySkill = Object.fromEntries(
        answer.body.skills.map((skill: { name: string; approval: string }) => [skill.name, skill.approval]),
      );
      // The default policy asks for an approval of side-effecting calls (non-GET http_call).
      expect(bySkill).toEqual({
        agent_invoke: 'never',
        agent_spawn: 'never',
        http_call: 'when_side_effecting',
        json_transform: 'never',
        llm_invoke: 'never',
        webhook_send: 'when_side_effecting',
      });
      expect(answer.body.rateLimit.limit).toBe(600);
      expect(answer.body.rateLimit.used).toBeGreaterThanOrEqual(1);
      expect(answer.body.rateLimit.used + answer.body.rateLimit.remaining).toBe(600);
    });

    it("narrows the skills to a registered agent's allowed skills and shows its default budget", async () => {
      const registered = await app.request('POST', '/v1/agents', {
        key: operator,
        body: {
          name: 'transformer',
          allowedSkills: ['json_transform'],
          defaultBudget: { maxCostMicros: 5_000 },
        },
      });
      expect(registered.status).toBe(201);
      const { agentId } = registered.body;
      const answer = await app.request('GET', `/v1/capabilities?agentId=${agentId}`, { key: operator });
      expect(answer.status).toBe(200);
      expect(answer.body.agent).toMatchObject({
        name: 'transformer',
        allowedSkills: ['json_transform'],
        defaultBudget: { maxCostMicros: 5_000, maxSteps: 50 },
        planner: 'rules',
      });
      const allowed = Object.fromEntries(
        answer.body.skills.map((skill: { name: string; allowed: boolean }) => [skill.name, skill.allowed]),
      );
      expect(allowed).toEqual({
        agent_invoke: false,
        agent_spawn: false,
        http_call: false,
        json_transform: true,
        llm_invoke: false,
        webhook_send: false,
      });
      const http = answer.body.skills.find((skill: { name: string }) => skill.name === 'http_call');
      expect(http.reason).toBe("skill http_call is not in agent transformer's allowed skills");
      // Another tenant's agent of that id is none of this caller's.
      const elsewhere = await app.request('GET', `/v1/capabilities?agentId=${agentId}`, {
        key: await app.keyFor(`other-${storeName}`, 'viewer'),
      });
      expect(elsewhere.body.agent).toBeNull();
      expect(elsewhere.body.skills.every((skill: { allowed: boolean }) => skill.allowed)).toBe(true);
    });

    it("fills a skill's observed p50/p95 from the tenant's timed attempts", async () => {
      const tenant = await app.keyFor(`timed-${storeName}`, 'operator');
      const before = await app.request('GET', '/v1/skills/http_call', { key: tenant });
      expect(before.body.latency.observed).toBeNull();
      const runIds: string[] = [];
      for (const ms of [20, 120, 60, 200]) {
        const submitted = await app.request('POST', '/v1/runs', {
          key: tenant,
          body: {
            agentId: 'a',
            budget,
            plan: { steps: [{ skill: 'http_call', input: { url: `${slowBase}/slow/${ms}` } }] },
          },
        });
        expect(submitted.status).toBe(202);
        runIds.push(submitted.body.runId);
      }
      const latencies: number[] = [];
      for (const runId of runIds) {
        expect((await waitForRun(app, tenant, runId, ['succeeded', 'failed'])).status).toBe('succeeded');
        const events = await app.request('GET', `/v1/runs/${runId}/events`, { key: tenant });
        for (const event of events.body.events) {
          if (event.type === 'SkillCallSucceeded') latencies.push(event.data.latencyMs);
        }
      }
      expect(latencies).toHaveLength(4);
      let observed = null;
      for (let tries = 0; tries < 200 && observed?.samples !== 4; tries++) {
        observed = (await app.request('GET', '/v1/skills/http_call', { key: tenant })).body.latency.observed;
        if (observed?.samples !== 4) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(observed).toEqual({
        samples: 4,
        p50Ms: nearestRank(latencies, 0.5),
        p95Ms: nearestRank(latencies, 0.95),
      });
      expect(observed.p95Ms).toBeGreaterThanOrEqual(200);
      // Per tenant: another tenant has timed none.
      const other = await app.request('GET', '/v1/skills/http_call', {
        key: await app.keyFor(`untimed-${storeName}`, 'viewer'),
      });
      expect(other.body.latency.observed).toBeNull();
    });

    it('takes the tenant-day budget from the ledger once a run has been charged', async () => {
      const tenant = await app.keyFor(`spender-${storeName}`, 'operator');
      const submitted = await app.request('POST', '/v1/runs', {
        key: tenant,
        body: {
          agentId: 'a',
          budget,
          plan: { steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt: 'hello' } }] },
        },
      });
      expect(submitted.status).toBe(202);
      const run = await waitForRun(app, tenant, submitted.body.runId, ['succeeded', 'failed']);
      expect(run.status).toBe('succeeded');
      // The reservation is settled right after the attempt's charge, which may land after the
      // run reads as succeeded: wait for the counters to show it.
      let answer = await app.request('GET', '/v1/capabilities', { key: tenant });
      for (let tries = 0; answer.body.budget.settledMicros !== run.costMicros && tries < 100; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        answer = await app.request('GET', '/v1/capabilities', { key: tenant });
      }
      expect(answer.body.budget.settledMicros).toBe(run.costMicros);
      expect(answer.body.budget.remainingMicros).toBe(100_000_000 - run.costMicros);
      expect(answer.body.budget.models).toEqual([
        expect.objectContaining({ model: 'stub', settledMicros: run.costMicros }),
      ]);
    });

    /** Runs a one-step plan to its end: the run, its events and its first policy decision. */
    async function runOneStep(step: { skill: string; input: Record<string, unknown> }) {
      const submitted = await app.request('POST', '/v1/runs', {
        key: operator,
        body: { agentId: 'a', budget, plan: { steps: [step] } },
      });
      const run = await waitForRun(app, operator, submitted.body.runId, [
        'policy_denied',
        'failed',
        'succeeded',
      ]);
      const events = (await app.request('GET', `/v1/runs/${submitted.body.runId}/events`, { key: operator }))
        .body.events as Array<{ type: string; data: any }>;
      return { run, events, decided: events.find((event) => event.type === 'PolicyDecided')! };
    }

    it('simulates a GET to the metadata address as denied, as the run is', async () => {
      const simulated = await app.request('POST', '/v1/simulate', {
        key: operator,
        body: { agentId: 'a', budget, plan: { steps: [metadataGet] } },
      });
      expect(simulated.status).toBe(200);
      expect(simulated.body.feasible).toBe(false);
      expect(simulated.body.steps[0].policy).toMatchObject({ result: 'deny', ruleId: 'http.hosts.deny' });

      const { run, decided } = await runOneStep(metadataGet);
      expect(run.status).toBe('policy_denied');
      expect(decided.data).toMatchObject({ result: 'deny', ruleId: simulated.body.steps[0].policy.ruleId });
    });

    it("simulates a local address as denied per step, as execution refuses it; the installation's exemption holds in both", async () => {
      const steps = [
        { skill: 'http_call', input: { url: 'http://10.0.0.7/x' } },
        { skill: 'http_call', input: { url: 'http://[::ffff:192.168.0.1]/x' } },
        { skill: 'http_call', input: { url: 'http://localhost:1/x' } },
        { skill: 'http_call', input: { url: `${slowBase}/slow/0` } },
      ];
      const simulated = await app.request('POST', '/v1/simulate', {
        key: operator,
        body: { agentId: 'a', budget, plan: { steps } },
      });
      expect(simulated.status).toBe(200);
      expect(simulated.body.feasible).toBe(false);
      expect(simulated.body.steps.map((step: { policy: { ruleId: string } }) => step.policy.ruleId)).toEqual([
        'http.local_address',
        'http.local_address',
        'http.local_address',
        'default.allow',
      ]);
      expect(simulated.body.reasons).toContainEqual(expect.stringContaining('LOCAL_URL_FORBIDDEN'));
      for (const [index, step] of steps.entries()) {
        const { run, events, decided } = await runOneStep(step);
        expect(decided.data.ruleId).toBe(simulated.body.steps[index].policy.ruleId);
        expect(run.status).toBe(index < 3 ? 'policy_denied' : 'succeeded');
        // The skill was never called for a refused step: no attempt started.
        const started = events.some((event) => event.type === 'SkillCallStarted');
        expect(started).toBe(index === 3);
      }
      // The exemptions are the installation's: a tenant's policy cannot carry them.
      await expect(
        setPolicy(
          app.store,
          'acme',
          { version: 'open', rules: { httpLocalAllowHosts: ['10.0.0.7'] } },
          { id: 'x', role: 'admin' },
        ),
      ).rejects.toThrow(/installation/);
    });

    it('simulates approvals, cost and risks, keeping the earlier fields', async () => {
      const simulated = await app.request('POST', '/v1/simulate', {
        key: operator,
        body: {
          agentId: 'a',
          budget,
          plan: {
            steps: [
              {
                skill: 'http_call',
                input: { url: 'https://api.example.com/x', method: 'POST', idempotencyKey: 'k1' },
              },
              { skill: 'llm_invoke', input: { model: 'stub', prompt: 'hi', maxTokens: 10 } },
            ],
          },
        },
      });
      expect(simulated.status).toBe(200);
      const body = simulated.body;
      expect(body).toMatchObject({ feasible: true, withinBudget: true, reasons: [], issues: [] });
      expect(body.estimate.v2.costMicros).toBe(body.costMicros);
      expect(body.steps[0]).toMatchObject({
        known: true,
        sideEffecting: true,
        policy: { result: 'require_approval' },
      });
      expect(body.steps[1].costMicros).toBeGreaterThan(0);
      expect(body.risks).toContainEqual(expect.stringContaining('waits for an approval'));
    });

    it('refuses at submission a step input that breaks its schema, naming the field, writing nothing', async () => {
      const refused = await app.request('POST', '/v1/runs', {
        key: operator,
        headers: { 'idempotency-key': `no-data-${storeName}` },
        body: {
          agentId: 'a',
          budget,
          plan: { steps: [{ skill: 'json_transform', input: { expression: 'a' } }] },
        },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('INVALID_INPUT');
      expect(refused.body.error.details.issues).toEqual([
        expect.objectContaining({ path: 'plan.steps[0].input.data', code: 'INVALID_INPUT' }),
      ]);
      const runs = await app.store.readAll({ limit: 10_000 });
      expect(
        runs.events.some(
          (event) => event.type === 'RunSubmitted' && JSON.stringify(event.data).includes('"expression":"a"'),
        ),
      ).toBe(false);
    });

    it('refuses a side-effecting call without an idempotency key before any approval is asked', async () => {
      const refused = await app.request('POST', '/v1/runs', {
        key: operator,
        body: {
          agentId: 'a',
          budget,
          plan: {
            steps: [{ skill: 'http_call', input: { url: 'https://api.example.com/x', method: 'DELETE' } }],
          },
        },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('MISSING_IDEMPOTENCY_KEY');
      expect(refused.body.error.details.issues[0].path).toBe('plan.steps[0].input.idempotencyKey');
    });

    it('leaves a part written as a reference to be checked when the step runs', async () => {
      const accepted = await app.request('POST', '/v1/simulate', {
        key: operator,
        body: {
          agentId: 'a',
          budget,
          input: { doc: { a: 1 } },
          plan: {
            steps: [{ skill: 'json_transform', input: { expression: 'a', data: { $ref: 'input.doc' } } }],
          },
        },
      });
      expect(accepted.status).toBe(200);
      expect(accepted.body.issues).toEqual([]);

      const fetched = await app.request('POST', '/v1/simulate', {
        key: operator,
        body: {
          agentId: 'a',
          budget,
          input: { url: 'https://api.example.com/' },
          plan: { steps: [{ skill: 'http_call', input: { url: { $ref: 'input.url' } } }] },
        },
      });
      expect(fetched.body.steps[0].policy).toMatchObject({
        result: 'deferred',
        ruleId: 'http.url.reference',
      });
      expect(fetched.body.feasible).toBe(true);
    });
  });
}
