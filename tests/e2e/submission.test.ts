// POST /v1/runs on both stores, with the executor off so that the queue can be looked at: a
// submission is recorded and made due in one statement, a resubmission with the same
// Idempotency-Key answers the same run without writing, and a refused one (4xx) writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { examplePlan } from '../support/example-plan.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = ['pglite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const;

for (const storeName of stores) {
  describe(`submitting runs on ${storeName}`, () => {
    let app: TestApp;
    let operator: string;
    beforeAll(async () => {
      app = await startTestApp(storeName, { AOS_EXECUTOR: 'off', AOS_RATE_LIMIT_PER_MINUTE: '8' });
      operator = await app.keyFor('acme', 'operator');
    });
    afterAll(() => app.stop());

    const written = async () => {
      const [row] = await app.store.client.query<{ events: number; queued: number }>(
        `SELECT (SELECT count(*)::int FROM aos_events) AS events,
                (SELECT count(*)::int FROM aos_run_queue) AS queued`,
      );
      return row!;
    };
    const queueRow = async (runId: string) =>
      app.store.client.query<{ tenant_id: string; done: boolean }>(
        'SELECT tenant_id, done FROM aos_run_queue WHERE run_id = $1',
        [runId],
      );
    const submit = (body: unknown, headers: Record<string, string> = {}) =>
      app.request('POST', '/v1/runs', { key: operator, body, headers });

    it('records a run and makes it due; a resubmission answers the same run and writes nothing', async () => {
      const before = await written();
      const first = await submit(examplePlan, { 'idempotency-key': 'order-1' });
      expect(first.status).toBe(202);
      expect(await queueRow(first.body.runId)).toEqual([{ tenant_id: 'acme', done: false }]);
      expect(await written()).toEqual({ events: before.events + 2, queued: before.queued + 1 });

      const again = await submit(examplePlan, { 'idempotency-key': 'order-1' });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      const unkeyed = await submit(examplePlan);
      expect(unkeyed.status).toBe(202);
      expect(unkeyed.body.runId).not.toBe(first.body.runId);
      expect(await queueRow(unkeyed.body.runId)).toEqual([{ tenant_id: 'acme', done: false }]);
      expect(await written()).toEqual({ events: before.events + 4, queued: before.queued + 2 });
    });

    it('writes nothing for a refused submission', async () => {
      const before = await written();
      const refusals = [
        await submit({ ...examplePlan, plan: { steps: [] } }),
        await submit({ ...examplePlan, plan: { steps: [{ skill: 'no_such_skill', input: {} }] } }),
        await submit({ ...examplePlan, seed: 8 }, { 'idempotency-key': 'order-1' }),
        await app.request('POST', '/v1/runs', { body: examplePlan }),
      ];
      expect(refusals.map((r) => r.status)).toEqual([400, 400, 409, 401]);
      expect(await written()).toEqual(before);
      // Over the key's rate limit (8 a minute): the refused one writes nothing.
      let accepted = 0;
      for (;;) {
        const counted = await written();
        const answer = await submit(examplePlan);
        if (answer.status === 429) {
          expect(await written()).toEqual(counted);
          break;
        }
        expect(answer.status).toBe(202);
        accepted++;
      }
      expect(accepted).toBeGreaterThan(0);
    });
  });
}
