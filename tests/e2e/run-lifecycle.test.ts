// A run from POST /v1/runs to its end, through the real executor, skills and store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { examplePlan } from '../support/example-plan.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = ['pglite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const;

for (const storeName of stores) {
  describe(`run lifecycle over HTTP on ${storeName}`, () => {
    let app: TestApp;
    let operator: string;
    beforeAll(async () => {
      app = await startTestApp(storeName);
      operator = await app.keyFor('acme', 'operator');
    });
    afterAll(() => app.stop());

    it('creates one run for concurrent submissions with the same Idempotency-Key', async () => {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          app.request('POST', '/v1/runs', {
            key: operator,
            body: examplePlan,
            headers: { 'idempotency-key': 'concurrent-7' },
          }),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 202]);
      const runIds = new Set(answers.map((a) => a.body.runId));
      expect(runIds.size).toBe(1);
      const events = await app.request('GET', `/v1/runs/${[...runIds][0]}/events`, { key: operator });
      const submissions = events.body.events.filter((e: { type: string }) => e.type === 'RunSubmitted');
      expect(submissions).toHaveLength(1);
    });

    it('runs the example plan to succeeded, recording every event, and answers a retry with the same run', async () => {
      const submitted = await app.request('POST', '/v1/runs', {
        key: operator,
        body: examplePlan,
        headers: { 'idempotency-key': 'order-42' },
      });
      expect(submitted.status).toBe(202);
      expect(submitted.body).toMatchObject({ status: 'queued', runId: expect.any(String) });
      expect(submitted.body.streamId).toBe(`run-${submitted.body.runId}`);

      const again = await app.request('POST', '/v1/runs', {
        key: operator,
        body: examplePlan,
        headers: { 'idempotency-key': 'order-42' },
      });
      expect(again.status).toBe(200);
      // The run may have started meanwhile: the answer is its status now.
      expect(again.body).toEqual({ ...submitted.body, status: expect.any(String) });

      const other = await app.request('POST', '/v1/runs', {
        key: operator,
        body: { ...examplePlan, seed: 8 },
        headers: { 'idempotency-key': 'order-42' },
      });
      expect(other.status).toBe(409);

      const run = await waitForRun(app, operator, submitted.body.runId, ['succeeded', 'failed']);
      const afterwards = await app.request('POST', '/v1/runs', {
        key: operator,
        body: examplePlan,
        headers: { 'idempotency-key': 'order-42' },
      });
      expect(afterwards.status).toBe(200);
      expect(afterwards.body).toMatchObject({ runId: submitted.body.runId, status: 'succeeded' });
      expect(run).toMatchObject({
        runId: submitted.body.runId,
        status: 'succeeded',
        agentId: 'researcher',
        steps: [
          {
            index: 0,
            skill: 'llm_invoke',
            status: 'succeeded',
            attempts: [{ attempt: 1, outcome: 'succeeded' }],
          },
          {
            index: 1,
            skill: 'json_transform',
            status: 'succeeded',
            attempts: [{ attempt: 1, outcome: 'succeeded' }],
          },
        ],
      });
      expect(run.costMicros).toBeGreaterThan(0);
      expect(run.estimate.v1.costMicros).toBeGreaterThan(0);
      expect(run.estimate.v2.costMicros).toBeGreaterThan(0);

      const events = await app.request('GET', `/v1/runs/${submitted.body.runId}/events?limit=1000`, {
        key: operator,
      });
      expect(events.body.events.map((e: { type: string }) => e.type)).toEqual([
        'RunSubmitted',
        'RunEstimated',
        'PolicyDecided',
        'SkillCallStarted',
        'SkillCallSucceeded',
        'CostCharged',
        'StepCompleted',
        'PolicyDecided',
        'SkillCallStarted',
        'SkillCallSucceeded',
        'StepCompleted',
        'RunCompleted',
      ]);
      const stepOutput = events.body.events.find(
        (e: { type: string; data: { stepIndex: number } }) =>
          e.type === 'StepCompleted' && e.data.stepIndex === 1,
      );
      expect(stepOutput.data.output).toEqual({ result: 1 });
    });

    it('hides one tenant’s run from another tenant (404, never 403)', async () => {
      const submitted = await app.request('POST', '/v1/runs', { key: operator, body: examplePlan });
      const stranger = await app.keyFor('globex', 'admin');
      for (const url of [`/v1/runs/${submitted.body.runId}`, `/v1/runs/${submitted.body.runId}/events`]) {
        const response = await app.request('GET', url, { key: stranger });
        expect(response.status).toBe(404);
      }
      const cancel = await app.request('POST', `/v1/runs/${submitted.body.runId}/cancel`, {
        key: stranger,
        body: {},
      });
      expect(cancel.status).toBe(404);
    });

    it('refuses bad bodies with 400 and details, and writes nothing', async () => {
      // Every earlier test's events readable first: one still held back by the read horizon
      // would show up below as if this test had written it.
      await app.store.settled?.(2000);
      const before = await app.store.readAll({ limit: 10_000 });
      for (const body of [
        {},
        { ...examplePlan, plan: { steps: [] } },
        { ...examplePlan, budget: { maxCostMicros: -1 } },
      ]) {
        const response = await app.request('POST', '/v1/runs', { key: operator, body });
        expect(response.status).toBe(400);
        expect(response.body.error.code).toBe('INVALID_INPUT');
        expect(response.body.error.details.issues.length).toBeGreaterThan(0);
      }
      const unknownSkill = await app.request('POST', '/v1/runs', {
        key: operator,
        body: { ...examplePlan, plan: { steps: [{ skill: 'teleport', input: {} }] } },
      });
      expect(unknownSkill.status).toBe(400);
      expect(unknownSkill.body.error.code).toBe('SKILL_NOT_FOUND');
      const overBudget = await app.request('POST', '/v1/runs', {
        key: operator,
        body: { ...examplePlan, budget: { maxCostMicros: 1 } },
      });
      expect(overBudget.status).toBe(422);
      expect(overBudget.body.error.code).toBe('BUDGET_EXCEEDED');
      const after = await app.store.readAll({ limit: 10_000, after: before.checkpoint });
      expect(after.events.filter((e) => e.type === 'RunSubmitted')).toEqual([]);
    });

    it('needs a key, and a role that may act', async () => {
      expect((await app.request('POST', '/v1/runs', { body: examplePlan })).status).toBe(401);
      const viewer = await app.keyFor('acme', 'viewer');
      const response = await app.request('POST', '/v1/runs', { key: viewer, body: examplePlan });
      expect(response.status).toBe(403);
    });
  });
}
