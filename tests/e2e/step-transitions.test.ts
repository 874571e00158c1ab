// One transaction per step transition: a call's outcome commits with its reservation's close,
// the next step's policy decision, reservation and start. A reservation the tenant's day has
// no room for rolls that transaction back; the outcome is then recorded without it and the
// refusal on its own — nothing is lost, nothing overspent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = ['pglite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const;
const DAY_LIMIT_MICROS = 25;

const llm = (prompt: string, maxTokens = 16) => ({
  skill: 'llm_invoke',
  input: { model: 'stub', prompt, maxTokens },
});

for (const storeName of stores) {
  describe(`step transitions on ${storeName}`, () => {
    let app: TestApp;
    let key: string;
    beforeAll(async () => {
      app = await startTestApp(storeName, { AOS_TENANT_DAY_LIMIT_MICROS: String(DAY_LIMIT_MICROS) });
      key = await app.keyFor('frugal', 'operator');
    });
    afterAll(() => app.stop());

    it('records a step’s outcome even when the next step’s reservation finds the day full', async () => {
      const submitted = await app.request('POST', '/v1/runs', {
        key,
        body: {
          agentId: 'tester',
          plan: { steps: [llm('hello'), llm('x'.repeat(20_000), 4_000)] },
          budget: { maxCostMicros: 1_000_000 },
        },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const { runId } = submitted.body;
      const run = await waitForRun(app, key, runId, ['succeeded', 'budget_exceeded', 'failed']);
      expect(run.status).toBe('budget_exceeded');
      expect(run.steps[0].status).toBe('succeeded');

      const answer = await app.request('GET', `/v1/runs/${runId}/events?limit=1000`, { key });
      const events = answer.body.events as { type: string; data: any }[];
      const types = events.map((e) => e.type);
      // The first step's outcome, then the second's decision and the day's refusal, in order.
      const succeeded = types.indexOf('SkillCallSucceeded');
      const refused = events.findIndex((e) => e.type === 'BudgetExceeded' && e.data.scope === 'tenant_day');
      expect(succeeded).toBeGreaterThan(-1);
      expect(refused).toBeGreaterThan(succeeded);
      expect(types.filter((t) => t === 'SkillCallStarted')).toHaveLength(1);
      expect(types.at(-1)).toBe('RunCompleted');

      // The day holds exactly the first step's charge: its reservation closed, none other open.
      const charged = events
        .filter((e) => e.type === 'CostCharged')
        .reduce((sum, e) => sum + e.data.chargedMicros, 0);
      const budget = await app.store.readAll({
        limit: 1000,
        filter: { types: ['BudgetReserved', 'BudgetSettled', 'BudgetReleased'] },
      });
      const ledger = budget.events.map((e) => e.type);
      expect(ledger.filter((t) => t === 'BudgetReserved')).toHaveLength(1);
      expect(ledger.filter((t) => t !== 'BudgetReserved')).toHaveLength(1);
      const settled = budget.events
        .filter((e) => e.type === 'BudgetSettled')
        .reduce((sum, e) => sum + (e.data as { actualMicros: number }).actualMicros, 0);
      expect(settled).toBe(charged);
      expect(settled).toBeLessThanOrEqual(DAY_LIMIT_MICROS);
    });
  });
}
