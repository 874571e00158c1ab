// The query API over live read models, as clients use it: every route, its formats,
// its errors, and that no route answers another tenant's data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const plan = (prompt: string, extra: Record<string, unknown> = {}) => ({
  agentId: 'analyst',
  plan: {
    steps: [
      {
        skill: 'llm_invoke',
        input: { model: 'stub', prompt, maxTokens: 16, ...extra },
        retry: { initialDelayMs: 5 },
      },
      { skill: 'json_transform', input: { expression: 'a', data: { a: 1 } } },
    ],
  },
  budget: { maxCostMicros: 1_000_000 },
});

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`never: ${what}: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const stores = ['pglite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const;

for (const storeName of stores) {
  describe(`query API on ${storeName}`, () => {
    let app: TestApp;
    let key: string;
    let stranger: string;
    let runIds: string[];
    beforeAll(async () => {
      app = await startTestApp(storeName);
      key = await app.keyFor('acme', 'operator');
      stranger = await app.keyFor('globex', 'admin');
      runIds = [];
      for (const [i, extra] of [{}, { stub: { failAttempts: 1, errorCode: 'RATE_LIMITED' } }, {}].entries()) {
        const response = await app.request('POST', '/v1/runs', { key, body: plan(`question ${i}`, extra) });
        runIds.push(response.body.runId);
      }
      for (const runId of runIds) await waitForRun(app, key, runId, ['succeeded']);
      // Read models follow the events; wait until the last run shows as succeeded.
      await eventually(
        () => app.request('GET', '/v1/runs?status=succeeded', { key }),
        (r) => r.body.items?.length === 3,
        'runs projected',
      );
      await eventually(
        () => app.request('GET', '/v1/divergence?source=actual', { key }),
        // One actual sample per run (issue 17, item 6), not per step and per run.
        (r) => r.body.sample_count === 3,
        'divergence projected',
      );
      // The status history is a projection of its own: it may still be behind the runs'.
      await eventually(
        () => app.request('GET', `/v1/status-history?entity_id=${runIds[1]}`, { key }),
        (r) => r.body.items?.at(-1)?.new_status === 'succeeded',
        'status history projected',
      );
    });
    afterAll(() => app.stop());

    it('lists runs newest first with keyset pages and filters', async () => {
      const first = await app.request('GET', '/v1/runs?limit=2', { key });
      expect(first.status).toBe(200);
      expect(first.body.items).toHaveLength(2);
      expect(first.body.items[0]).toMatchObject({ agentId: 'analyst', status: 'succeeded', steps: 2 });
      const second = await app.request('GET', `/v1/runs?limit=2&cursor=${first.body.next_cursor}`, { key });
      expect(second.body.items).toHaveLength(1);
      expect(second.body.next_cursor).toBeNull();
      const all = [...first.body.items, ...second.body.items].map((r: { runId: string }) => r.runId);
      expect(new Set(all)).toEqual(new Set(runIds));
      expect((await app.request('GET', '/v1/runs?agent=nobody', { key })).body.items).toEqual([]);
      expect((await app.request('GET', '/v1/runs?cursor=garbage', { key })).status).toBe(400);
      expect((await app.request('GET', '/v1/runs?limit=0', { key })).status).toBe(400);
    });

    it('serves a run’s status history as JSON, CSV and JSONL, sequenced per entity', async () => {
      const runId = runIds[1]!;
      const json = await app.request('GET', `/v1/status-history?entity_id=${runId}`, { key });
      expect(json.status).toBe(200);
      const transitions = json.body.items.map((r: { old_status: string | null; new_status: string }) => [
        r.old_status,
        r.new_status,
      ]);
      expect(transitions).toEqual([
        [null, 'queued'],
        ['queued', 'running'],
        ['running', 'retrying'],
        ['retrying', 'running'],
        ['running', 'succeeded'],
      ]);
      expect(json.body.items.map((r: { sequence: number }) => r.sequence)).toEqual([1, 2, 3, 4, 5]);
      const reasons = json.body.items.map((r: { reason: string }) => r.reason);
      expect(reasons).toEqual([
        'submitted',
        'started',
        expect.stringMatching(/^RATE_LIMITED; attempt 2 due /),
        'retry started',
        expect.any(String),
      ]);
      expect(json.body.items[0]).toMatchObject({ entity_type: 'run', tenant_id: 'acme', actor_type: 'user' });

      const csv = await app.request('GET', `/v1/status-history?entity_id=${runId}&format=csv`, { key });
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      const lines = (csv.body as string).trim().split('\n');
      expect(lines[0]).toBe(
        'id,entity_type,entity_id,old_status,new_status,actor_type,actor_id,reason,tenant_id,correlation_id,metadata,created_at,sequence,global_position,event_id',
      );
      expect(lines).toHaveLength(6);

      const jsonl = await app.request('GET', `/v1/status-history?entity_id=${runId}&format=jsonl`, { key });
      const rows = (jsonl.body as string)
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(rows.map((r) => r.new_status)).toEqual([
        'queued',
        'running',
        'retrying',
        'running',
        'succeeded',
      ]);

      const stats = await app.request('GET', '/v1/status-history/stats', { key });
      expect(stats.body.records_by_entity_type.run).toBe(11);
      expect(stats.body.total_records).toBeGreaterThanOrEqual(11);
    });

    it('answers the original AOS routes in their shapes', async () => {
      const page = await app.request('GET', '/status_history?limit=2&entity_type=run', { key });
      expect(page.body).toMatchObject({ total: 11, limit: 2, offset: 0, has_more: true });
      expect(page.body.items).toHaveLength(2);
      const widened = await app.request('GET', '/status_history?tenant_id=globex', { key });
      expect(widened.body).toMatchObject({ items: [], total: 0 });
      const entity = await app.request('GET', `/status_history/entity/run/${runIds[0]}`, { key });
      expect(entity.body.map((r: { sequence: number }) => r.sequence)).toEqual([1, 2, 3]);
      const legacy = await app.request('GET', '/costsim/divergence?days=7', { key });
      expect(legacy.body).toMatchObject({ sample_count: 3, version: expect.any(String) });
      expect(legacy.body.detailed_samples[0]).toHaveProperty('v1_cost_cents');
      expect(legacy.body.detailed_samples[0]).toHaveProperty('v2_cost_cents');
      expect(legacy.body.detailed_samples[0].v1_cost_cents).not.toBe(
        legacy.body.detailed_samples[0].v2_cost_cents,
      );
    });

    it('reports costs, failures, policy decisions and divergence', async () => {
      const bySkill = await app.request('GET', '/v1/costs?group_by=skill', { key });
      expect(bySkill.body.items).toEqual([expect.objectContaining({ skill: 'llm_invoke', charges: 3 })]);
      expect(bySkill.body.items[0].chargedMicros).toBeGreaterThan(0);
      const failures = await app.request('GET', '/v1/failures', { key });
      expect(failures.body.items).toEqual([
        expect.objectContaining({
          errorCode: 'RATE_LIMITED',
          failures: 1,
          skills: [expect.objectContaining({ skill: 'llm_invoke', failures: 1 })],
          // The shipped catalog's word on it: retried later.
          classification: expect.objectContaining({
            catalogVersion: 'aos-default-1',
            entryId: 'rate_limited',
            recovery: { mode: 'retry_later', params: {} },
          }),
        }),
      ]);
      expect(failures.body.items[0].firstAt).toBe(failures.body.items[0].lastAt);
      const decisions = await app.request('GET', `/v1/policy-decisions?run_id=${runIds[1]}`, { key });
      expect(
        decisions.body.items.map((d: { attempt: number; result: string }) => [d.attempt, d.result]),
      ).toEqual([
        [1, 'allow'],
        [2, 'allow'],
        [1, 'allow'],
      ]);
      const estimators = await app.request('GET', '/v1/divergence?source=estimators', { key });
      expect(estimators.body).toMatchObject({ source: 'estimators', sample_count: 3 });
      const actual = await app.request('GET', '/v1/divergence?source=actual', { key });
      expect(actual.body.sample_count).toBe(3);
      expect(actual.body.detailed_samples[0]).toHaveProperty('verdict');
    });

    it('reports divergence per day, the figures of each day agreeing with the whole report', async () => {
      const daily = await app.request('GET', '/v1/divergence/daily?source=actual', { key });
      expect(daily.status).toBe(200);
      const whole = await app.request('GET', '/v1/divergence?source=actual', { key });
      // Every sample of this suite was recorded today: one day, the same figures.
      expect(daily.body.items).toHaveLength(1);
      // The window ends at each request's "now": the bounds differ by the time between them.
      const { detailed_samples: _, start_date: __, end_date: ___, source, ...figures } = whole.body;
      expect(daily.body.source).toBe(source);
      expect(Date.parse(daily.body.end_date) - Date.parse(daily.body.start_date)).toBe(7 * 86_400_000);
      expect(daily.body.items[0]).toEqual({ day: new Date().toISOString().slice(0, 10), ...figures });
      const estimators = await app.request('GET', '/v1/divergence/daily?source=estimators&days=1', { key });
      expect(estimators.body.items[0]).toMatchObject({ sample_count: 3 });
      const bad = await app.request('GET', '/v1/divergence/daily?days=365', { key });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_INPUT');
    });

    it('simulates a plan without writing anything', async () => {
      const before = await app.store.readAll({ limit: 10_000 });
      const simulated = await app.request('POST', '/v1/simulate', { key, body: plan('what if') });
      expect(simulated.status).toBe(200);
      expect(simulated.body.estimate.v1.costMicros).toBeGreaterThan(0);
      expect(simulated.body.estimate.v2.costMicros).toBeGreaterThan(0);
      expect(simulated.body.steps.map((s: { known: boolean }) => s.known)).toEqual([true, true]);
      const after = await app.store.readAll({ after: before.checkpoint });
      expect(after.events).toEqual([]);
    });

    it('shows another tenant nothing on any route', async () => {
      const empty = async (url: string, pick: (body: any) => unknown) => {
        const response = await app.request('GET', url, { key: stranger });
        expect(response.status, url).toBe(200);
        expect(pick(response.body), url).toEqual(expect.objectContaining({ length: 0 }));
      };
      await empty('/v1/runs', (b) => b.items);
      await empty('/v1/status-history', (b) => b.items);
      await empty(`/v1/status-history?entity_id=${runIds[0]}`, (b) => b.items);
      await empty('/v1/costs', (b) => b.items);
      await empty('/v1/failures', (b) => b.items);
      await empty('/v1/policy-decisions', (b) => b.items);
      await empty('/v1/divergence', (b) => b.detailed_samples);
      await empty('/v1/divergence/daily', (b) => b.items);
      await empty('/status_history', (b) => b.items);
      await empty(`/status_history/entity/run/${runIds[0]}`, (b) => b);
      const stats = await app.request('GET', '/v1/status-history/stats', { key: stranger });
      expect(stats.body.total_records).toBe(0);
      const csv = await app.request('GET', '/v1/status-history?format=csv', { key: stranger });
      expect((csv.body as string).trim().split('\n')).toHaveLength(1);
    });
  });
}
